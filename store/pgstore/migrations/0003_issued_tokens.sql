-- additive: true
-- min_binary: 0.8.0
-- The ids of issued JWTs (store/auth.go, IssuedTokenStore), so revoking a
-- jti by id knows its kind, user and expiry (docs/http-api.md#administration). Rows are kept
-- until expires_at and pruned with the expired deny-list entries.
CREATE TABLE issued_tokens (
	token_id   TEXT COLLATE "C" PRIMARY KEY,
	kind       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	issued_at  TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX issued_tokens_expires ON issued_tokens (expires_at);
