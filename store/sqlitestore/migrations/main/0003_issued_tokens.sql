-- additive: true
-- min_binary: 0.8.0
-- The ids of issued JWTs (store/auth.go, IssuedTokenStore), so revoking a
-- jti by id knows its kind, user and expiry (docs/http-api.md#administration). Rows are kept
-- until expires_at and pruned with the expired deny-list entries. Times are
-- UTC text with microseconds, like every other table.
CREATE TABLE issued_tokens (
	token_id   TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	issued_at  TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX issued_tokens_expires ON issued_tokens (expires_at);
