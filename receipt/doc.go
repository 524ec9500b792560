// Package receipt defines the decision receipt of a finished debate
// (docs/receipts.md): its canonical form, content hash, signature and the JSON,
// Markdown and HTML exports. It imports only the standard library and knows
// nothing of debates; package debate fills a [Receipt] from its result.
//
// # Canonical form and hash
//
// [Canonical] implements the RFC 8785 JSON Canonicalization Scheme with a
// dedicated encoder: object keys sorted by UTF-16 code units, no whitespace,
// numbers in ECMAScript form and minimal string escaping. [Receipt.Seal] sets
// content_hash to "sha256:" + the hex SHA-256 of the canonical form of every
// field except content_hash and signature. The canonical form is built from
// exactly the values that [Receipt.JSON] writes (timestamps at millisecond
// precision, nil lists as [], nil metadata as {}), so a receipt exported,
// parsed back with [Parse] and verified keeps its hash and signature.
//
// # Signing
//
// [Receipt.Sign] signs the canonical form with content_hash set and with a
// signature object holding only algorithm and key_id. [HMACSigner]
// (HMAC-SHA256, key of at least 32 bytes) and [Ed25519Signer] implement
// [Signer]; [Verify] checks a receipt against an HMAC key ([]byte) or an
// [ed25519.PublicKey].
//
// # Exports
//
// [Receipt.JSON] writes the field order of docs/receipts.md#format with a 2-space indent,
// [Receipt.Markdown] escapes <, > and & in every user-derived value, and
// [Receipt.HTML] renders one self-contained page with html/template, a
// restrictive Content-Security-Policy and no script.
package receipt
