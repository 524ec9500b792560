package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/aragora/aragora/store"
)

// Auditor writes audit entries through a [store.AuditStore]. It is a
// value type, safe for concurrent use when its Store is; Now and Rand
// default to time.Now and crypto/rand.
type Auditor struct {
	Store store.AuditStore
	Now   func() time.Time
	Rand  io.Reader
}

// Audit appends e, filling an empty ID (aud_…), a zero At (now) and an
// empty Outcome (success).
func (a Auditor) Audit(ctx context.Context, e store.AuditEntry) error {
	if a.Store == nil {
		return fmt.Errorf("auth: audit: no store")
	}
	if e.ID == "" {
		r := a.Rand
		if r == nil {
			r = rand.Reader
		}
		id, err := NewID(PrefixAudit, r)
		if err != nil {
			return err
		}
		e.ID = id
	}
	if e.At.IsZero() {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		e.At = now()
	}
	if e.Outcome == "" {
		e.Outcome = store.OutcomeSuccess
	}
	if err := a.Store.AppendAudit(ctx, &e); err != nil {
		return fmt.Errorf("auth: audit %s: %w", e.Action, err)
	}
	return nil
}

// Actor returns the audit actor of p; a nil p is the "system" actor.
func Actor(p *Principal) store.AuditActor {
	if p == nil {
		return store.AuditActor{ID: "system", Type: "system"}
	}
	return store.AuditActor{ID: p.ID, Type: string(p.Type), Role: string(p.Role)}
}
