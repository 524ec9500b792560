-- additive: true
-- min_binary: 0.8.0
-- Authentication, administration and billing (docs/http-api.md#accounts, docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration; see
-- store/auth.go): users, API keys, the token deny-list, per-user token
-- versions, the global token generation, the JWT key ring, the append-only
-- audit log (the runbook exports it with `pg_dump -t audit_log`) and usage
-- records, in the configured schema like every other table.
CREATE TABLE users (
	id                       TEXT COLLATE "C" PRIMARY KEY,
	email                    TEXT NOT NULL UNIQUE,
	name                     TEXT NOT NULL DEFAULT '',
	role                     TEXT NOT NULL,
	password_hash            TEXT NOT NULL,
	password_change_required BOOLEAN NOT NULL DEFAULT false,
	disabled                 BOOLEAN NOT NULL DEFAULT false,
	created_at               TIMESTAMPTZ NOT NULL,
	updated_at               TIMESTAMPTZ NOT NULL,
	last_login_at            TIMESTAMPTZ
);
CREATE INDEX users_oldest ON users (created_at, id);

CREATE TABLE api_keys (
	id           TEXT COLLATE "C" PRIMARY KEY,
	key_id       TEXT NOT NULL UNIQUE,
	prefix       TEXT NOT NULL DEFAULT '',
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	hash         BYTEA NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ,
	last_used_at TIMESTAMPTZ,
	revoked_at   TIMESTAMPTZ
);
-- One active (unrevoked) key per user.
CREATE UNIQUE INDEX api_keys_one_active ON api_keys (user_id) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user_newest ON api_keys (user_id, created_at DESC, id DESC);

CREATE TABLE revoked_tokens (
	token_id   TEXT COLLATE "C" PRIMARY KEY,
	kind       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	revoked_at TIMESTAMPTZ NOT NULL,
	revoked_by TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

CREATE TABLE token_versions (
	user_id    TEXT PRIMARY KEY,
	version    BIGINT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

-- One row (id 1) once the generation was first bumped; none means 0.
CREATE TABLE token_generation (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	generation BIGINT NOT NULL,
	revoked_at TIMESTAMPTZ,
	revoked_by TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE jwt_keys (
	kid         TEXT COLLATE "C" PRIMARY KEY,
	alg         TEXT NOT NULL DEFAULT '',
	ciphertext  BYTEA,
	created_at  TIMESTAMPTZ NOT NULL,
	retired_at  TIMESTAMPTZ,
	valid_until TIMESTAMPTZ
);
-- At most one current (unretired) signing key.
CREATE UNIQUE INDEX jwt_keys_one_current ON jwt_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- Append-only: the store has no update or delete for it.
CREATE TABLE audit_log (
	id             TEXT COLLATE "C" PRIMARY KEY,
	at             TIMESTAMPTZ NOT NULL,
	actor_id       TEXT NOT NULL DEFAULT '',
	actor_type     TEXT NOT NULL DEFAULT '',
	actor_role     TEXT NOT NULL DEFAULT '',
	action         TEXT NOT NULL DEFAULT '',
	target         TEXT NOT NULL DEFAULT '',
	ip             TEXT NOT NULL DEFAULT '',
	user_agent     TEXT NOT NULL DEFAULT '',
	correlation_id TEXT NOT NULL DEFAULT '',
	outcome        TEXT NOT NULL DEFAULT '',
	details        JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_newest ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_newest ON audit_log (actor_id, at DESC, id DESC);
CREATE INDEX audit_log_action_newest ON audit_log (action, at DESC, id DESC);

CREATE TABLE usage_records (
	id         BIGSERIAL PRIMARY KEY,
	user_id    TEXT NOT NULL DEFAULT '',
	provider   TEXT NOT NULL DEFAULT '',
	model      TEXT NOT NULL DEFAULT '',
	tokens_in  BIGINT NOT NULL DEFAULT 0,
	tokens_out BIGINT NOT NULL DEFAULT 0,
	cost_usd   DOUBLE PRECISION NOT NULL DEFAULT 0,
	debate_id  TEXT NOT NULL DEFAULT '',
	at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_records_user_at ON usage_records (user_id, at);
CREATE INDEX usage_records_at ON usage_records (at);
