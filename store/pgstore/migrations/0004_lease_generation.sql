-- additive: true
-- min_binary: 0.8.0
-- The generation of a debate's lease (store.Lease): every claim increments
-- it, and every write of the lease holder (heartbeat, checkpoint, finish)
-- is conditional on it, so a process that lost the lease writes nothing
-- more (fencing).
ALTER TABLE debates ADD COLUMN lease_generation BIGINT NOT NULL DEFAULT 0;
