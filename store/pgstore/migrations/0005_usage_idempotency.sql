-- additive: true
-- min_binary: 0.8.0
-- Every usage row has an idempotency key (store.UsageRecord.ID), unique,
-- so a usage write that only looked failed and is tried again (or
-- re-committed from the result spool) is recorded once. Existing rows get
-- a key of their own; rows written by a binary that does not know the
-- column keep NULL, which the unique index allows any number of.
ALTER TABLE usage_records ADD COLUMN idempotency_key TEXT;
UPDATE usage_records SET idempotency_key = 'usg_legacy_' || id WHERE idempotency_key IS NULL;
CREATE UNIQUE INDEX usage_records_idempotency_key ON usage_records (idempotency_key);
