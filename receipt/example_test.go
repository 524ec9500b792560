package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"log"
	"math"
	"strings"
	"time"

	"github.com/aragora/aragora/receipt"
)

// Example builds a receipt, signs it with Ed25519, exports it to JSON and
// verifies the parsed copy with the public key alone.
func Example() {
	created := time.Date(2026, 2, 11, 9, 30, 0, 0, time.UTC)
	id, err := receipt.NewID(created, bytes.NewReader([]byte{0xa3, 0xf8, 0xc2})) // fixed randomness
	if err != nil {
		log.Fatal(err)
	}
	r := &receipt.Receipt{
		Schema:     receipt.Schema,
		ReceiptID:  id,
		DebateID:   "deb_01hq3z8k2m4n6p8r0t2v4x6z8b",
		CreatedAt:  created,
		Question:   "Which database?",
		Status:     "consensus_reached",
		Verdict:    receipt.VerdictApproved,
		Confidence: 1,
		Winner:     "ada",
		Consensus:  receipt.Consensus{Method: "majority", Reached: true, LeaderShare: 1, SupportingAgents: []string{"ada", "bob"}},
		Agents:     []receipt.Agent{{Name: "ada", Weight: 1}, {Name: "bob", Weight: 1}},
		StartedAt:  created.Add(-2 * time.Second),
		EndedAt:    created,
		DurationMS: 2000,
		Metadata:   map[string]string{"ticket": "OPS-123"},
	}
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // use a secret seed in production
	signer := receipt.NewEd25519Signer(priv)
	if err := r.Sign(signer); err != nil {
		log.Fatal(err)
	}
	data, err := r.JSON()
	if err != nil {
		log.Fatal(err)
	}
	parsed, err := receipt.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(parsed.ReceiptID)
	fmt.Println(parsed.Signature.Algorithm, strings.HasPrefix(parsed.Signature.KeyID, "ed25519-"))
	fmt.Println("valid:", receipt.Verify(parsed, signer.PublicKey()))
	parsed.Metadata["ticket"] = "OPS-124"
	fmt.Println("after edit:", receipt.Verify(parsed, signer.PublicKey()))
	fmt.Println(strings.SplitN(parsed.Markdown(), "\n", 2)[0])
	// Output:
	// DR-20260211-a3f8c2
	// Ed25519 true
	// valid: true
	// after edit: false
	// # Decision Receipt DR-20260211-a3f8c2
}

// ExampleCanonical shows RFC 8785 key order and number forms.
func ExampleCanonical() {
	out, err := receipt.Canonical(map[string]any{"b": 1.0, "a": []any{1e21, 1e-7, math.Copysign(0, -1), "€<>"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output: {"a":[1e+21,1e-7,0,"€<>"],"b":1}
}
