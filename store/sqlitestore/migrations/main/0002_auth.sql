-- additive: true
-- min_binary: 0.8.0
-- Authentication, administration and billing (docs/http-api.md#accounts, docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration; see
-- store/auth.go): users, API keys, the token deny-list, per-user token
-- versions, the global token generation, the JWT key ring, the append-only
-- audit log and usage records. Times are UTC text with microseconds, like
-- every other table; booleans are 0/1.
CREATE TABLE users (
	id                       TEXT PRIMARY KEY,
	email                    TEXT NOT NULL UNIQUE,
	name                     TEXT NOT NULL DEFAULT '',
	role                     TEXT NOT NULL,
	password_hash            TEXT NOT NULL,
	password_change_required INTEGER NOT NULL DEFAULT 0,
	disabled                 INTEGER NOT NULL DEFAULT 0,
	created_at               TEXT NOT NULL,
	updated_at               TEXT NOT NULL,
	last_login_at            TEXT
);
CREATE INDEX users_oldest ON users (created_at, id);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	key_id       TEXT NOT NULL UNIQUE,
	prefix       TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	hash         BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT,
	last_used_at TEXT,
	revoked_at   TEXT
);
-- One active (unrevoked) key per user.
CREATE UNIQUE INDEX api_keys_one_active ON api_keys (user_id) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user_newest ON api_keys (user_id, created_at DESC, id DESC);

CREATE TABLE revoked_tokens (
	token_id   TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL,
	revoked_by TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	expires_at TEXT NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

CREATE TABLE token_versions (
	user_id    TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	updated_at TEXT NOT NULL
);

-- One row (id 1) once the generation was first bumped; none means 0.
CREATE TABLE token_generation (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	generation INTEGER NOT NULL,
	revoked_at TEXT,
	revoked_by TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE jwt_keys (
	kid         TEXT PRIMARY KEY,
	alg         TEXT NOT NULL DEFAULT '',
	ciphertext  BLOB,
	created_at  TEXT NOT NULL,
	retired_at  TEXT,
	valid_until TEXT
);
-- At most one current (unretired) signing key.
CREATE UNIQUE INDEX jwt_keys_one_current ON jwt_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- Append-only: the store has no update or delete for it.
CREATE TABLE audit_log (
	id             TEXT PRIMARY KEY,
	at             TEXT NOT NULL,
	actor_id       TEXT NOT NULL DEFAULT '',
	actor_type     TEXT NOT NULL DEFAULT '',
	actor_role     TEXT NOT NULL DEFAULT '',
	action         TEXT NOT NULL DEFAULT '',
	target         TEXT NOT NULL DEFAULT '',
	ip             TEXT NOT NULL DEFAULT '',
	user_agent     TEXT NOT NULL DEFAULT '',
	correlation_id TEXT NOT NULL DEFAULT '',
	outcome        TEXT NOT NULL DEFAULT '',
	details        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_newest ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_newest ON audit_log (actor_id, at DESC, id DESC);
CREATE INDEX audit_log_action_newest ON audit_log (action, at DESC, id DESC);

CREATE TABLE usage_records (
	id         INTEGER PRIMARY KEY,
	user_id    TEXT NOT NULL DEFAULT '',
	provider   TEXT NOT NULL DEFAULT '',
	model      TEXT NOT NULL DEFAULT '',
	tokens_in  INTEGER NOT NULL DEFAULT 0,
	tokens_out INTEGER NOT NULL DEFAULT 0,
	cost_usd   REAL NOT NULL DEFAULT 0,
	debate_id  TEXT NOT NULL DEFAULT '',
	at         TEXT NOT NULL
);
CREATE INDEX usage_records_user_at ON usage_records (user_id, at);
CREATE INDEX usage_records_at ON usage_records (at);
