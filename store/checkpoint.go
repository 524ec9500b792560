package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// CheckpointDigest returns a hex SHA-256 of the parts of cp that define
// checkpoint identity for [Checkpointer.SaveCheckpoint]: DebateID, Round,
// Phase, Seq, Status, the exact bytes of State and, for every event, its
// Seq, Type and exact JSON bytes. CreatedAt and the events' DebateID fields
// are not part of it, so a retried write of the same checkpoint built again
// with a new timestamp is still "identical". Backends store the digest
// beside the checkpoint and compare it on a key collision. A nil cp has the
// digest of the zero Checkpoint.
func CheckpointDigest(cp *Checkpoint) string {
	if cp == nil {
		cp = &Checkpoint{}
	}
	h := sha256.New()
	var n [8]byte
	writeInt := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	writeBytes := func(b []byte) { // length-prefixed, so fields cannot run together
		writeInt(int64(len(b)))
		h.Write(b)
	}
	writeBytes([]byte(cp.DebateID))
	writeInt(int64(cp.Round))
	writeBytes([]byte(cp.Phase))
	writeInt(cp.Seq)
	writeBytes([]byte(cp.Status))
	writeBytes(cp.State)
	writeInt(int64(len(cp.Events)))
	for _, e := range cp.Events {
		writeInt(e.Seq)
		writeBytes([]byte(e.Type))
		writeBytes(e.JSON)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CheckBatch reports whether cp's event batch continues a log whose last
// seq is lastSeq: every event belongs to cp.DebateID (or leaves DebateID
// empty), the seqs run lastSeq+1, lastSeq+2, … without gap or duplicate, and
// cp.Seq is the last of them (lastSeq itself for an empty batch). A
// violation returns an error wrapping ErrConflict. Backends call it inside
// their write transaction, after reading lastSeq.
func CheckBatch(cp *Checkpoint, lastSeq int64) error {
	next := lastSeq + 1
	for _, e := range cp.Events {
		if e.DebateID != "" && e.DebateID != cp.DebateID {
			return fmt.Errorf("checkpoint %q: event seq %d belongs to debate %q: %w", cp.DebateID, e.Seq, e.DebateID, ErrConflict)
		}
		if e.Seq != next {
			return fmt.Errorf("checkpoint %q: event seq %d, want %d: %w", cp.DebateID, e.Seq, next, ErrConflict)
		}
		next++
	}
	if cp.Seq != next-1 {
		return fmt.Errorf("checkpoint %q: seq %d, want %d: %w", cp.DebateID, cp.Seq, next-1, ErrConflict)
	}
	return nil
}
