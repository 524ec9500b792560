package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/store"
)

// Usage (docs/http-api.md#accounts).

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// usagePeriod parses ?period= (current_month, last_30d or YYYY-MM, UTC).
func usagePeriod(p string, now time.Time) (label string, from, to time.Time, err error) {
	now = now.UTC()
	switch {
	case p == "" || p == "current_month":
		from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return from.Format("2006-01"), from, from.AddDate(0, 1, 0), nil
	case p == "last_30d":
		return "last_30d", now.Add(-30 * 24 * time.Hour), now, nil
	case monthRE.MatchString(p):
		from, _ = time.Parse("2006-01", p)
		return p, from, from.AddDate(0, 1, 0), nil
	}
	return "", time.Time{}, time.Time{}, apiErr(http.StatusBadRequest, "invalid_query", "period: want current_month, last_30d or YYYY-MM").with("parameter", "period")
}

// usageStore is Config.Usage, else the debate store when it is one, else
// nil.
func (s *Server) usageStore() store.UsageStore { return storePort(s.cfg.Usage, s.st) }

// RecordUsage charges one provider call to userID (docs/http-api.md#accounts). Debates
// record theirs with their result; the agent test records its call here. A
// row the store cannot write now is spooled and written once it can
// (docs/operations.md#the-result-spool): usage is never dropped.
func (s *Server) RecordUsage(ctx context.Context, r store.UsageRecord) {
	us := s.usageStore()
	if us == nil || (r.TokensIn == 0 && r.TokensOut == 0 && r.CostUSD == 0) {
		return
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	if err := s.lc.RecordUsage(ctx, us, r); err != nil {
		s.log.Warn("usage_record_deferred", "user_id", r.UserID, "debate_id", r.DebateID, "error", err.Error())
	}
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

type tokensDoc struct {
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
}

func (s *Server) handleUsage(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "period", "user_id", "scope")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := infoFrom(r.Context()).principal
	userID := p.ID
	isAdmin := p.Role.AtLeast(auth.RoleAdmin)
	if q.has("user_id") || q.has("scope") {
		if !isAdmin {
			s.writeError(w, r, &auth.ForbiddenError{Required: auth.RoleAdmin, Have: p.Role})
			return
		}
		if q.has("scope") && q.get("scope") != "all" {
			s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "scope: want all").with("parameter", "scope"))
			return
		}
		if q.get("scope") == "all" {
			userID = ""
		} else {
			userID = q.get("user_id")
		}
	}
	label, from, to, err := usagePeriod(q.get("period"), s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var buckets []store.UsageBucket
	if us := s.usageStore(); us != nil {
		if buckets, err = us.AggregateUsage(r.Context(), store.UsageFilter{UserID: userID, From: from, To: to}); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var debates []*store.Debate
	f := store.Filter{Owner: userID, Limit: 200, Cursor: &store.Cursor{CreatedAt: to}}
	for page := 0; page < 50; page++ {
		ds, err := s.st.ListDebates(r.Context(), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		debates = append(debates, ds...)
		if len(ds) < f.Limit || ds[len(ds)-1].CreatedAt.Before(from) {
			break
		}
		last := ds[len(ds)-1]
		f.Cursor = &store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	sum := store.SummarizeUsage(buckets, debates, from, to)
	byProvider := make([]map[string]any, 0, len(sum.ByProvider))
	for _, pu := range sum.ByProvider {
		byProvider = append(byProvider, map[string]any{"provider": pu.Provider, "requests": pu.Requests,
			"tokens": tokensDoc{pu.TokensIn, pu.TokensOut}, "cost_usd": round6(pu.CostUSD)})
	}
	byDay := make([]map[string]any, 0, len(sum.ByDay))
	for _, d := range sum.ByDay {
		byDay = append(byDay, map[string]any{"date": d.Date, "debates": d.Debates, "tokens": tokensDoc{d.TokensIn, d.TokensOut},
			"cost_usd": round6(d.CostUSD)})
	}
	var uid any = userID
	if userID == "" {
		uid = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_id": uid,
		"period":  map[string]string{"label": label, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)},
		"debates": map[string]any{"total": sum.Debates, "by_status": sum.DebatesByStatus},
		"tokens":  tokensDoc{sum.Total.TokensIn, sum.Total.TokensOut}, "cost_usd": round6(sum.Total.CostUSD),
		"by_provider": byProvider, "by_day": byDay})
}

// System views (docs/http-api.md#administration).

func (s *Server) handleSystemBreakers(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	type entry struct {
		Kind string `json:"kind"`
		breaker.Snapshot
	}
	breakers := map[string]entry{}
	if s.cfg.Breakers != nil {
		for name, cs := range s.cfg.Breakers.Circuits() {
			kind := "agent"
			if name == "openrouter" {
				kind = "provider"
			}
			breakers[kind+":"+name] = entry{Kind: kind, Snapshot: cs}
		}
	}
	if s.cfg.SystemBreakers != nil {
		for key, cs := range s.cfg.SystemBreakers() {
			kind, _, _ := strings.Cut(key, ":")
			breakers[key] = entry{Kind: kind, Snapshot: cs}
		}
	}
	sum := map[string]int{"total": len(breakers), "closed": 0, "half_open": 0, "open": 0}
	for _, b := range breakers {
		sum[b.State.String()]++
	}
	writeJSON(w, http.StatusOK, map[string]any{"summary": sum, "breakers": breakers})
}

var errorTypes = map[string]bool{"http": true, "agent": true, "webhook": true, "debate": true, "nomic": true, "internal": true}

func (s *Server) handleSystemErrors(w http.ResponseWriter, r *http.Request) {
	q, limit, ok := s.limitQueryOr(w, r, 50, 1, errorRingSize, "limit", "type")
	if !ok {
		return
	}
	typ := q.get("type")
	if q.has("type") && !errorTypes[typ] {
		s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "type: want http, agent, webhook, debate, nomic or internal").with("parameter", "type"))
		return
	}
	list, total := s.errs.list(limit, typ)
	writeJSON(w, http.StatusOK, map[string]any{"buffer_size": errorRingSize, "total_recorded": total, "errors": list})
}

func (s *Server) handleSystemRateLimits(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	if s.cfg.RateLimiter != nil {
		writeJSON(w, http.StatusOK, s.cfg.RateLimiter.SystemSnapshot())
		return
	}
	doc := noRateLimits()
	doc["redis"] = map[string]any{"configured": false, "up": false, "fail_open": false, "fallback_active": false}
	doc["top_limited"] = []any{}
	writeJSON(w, http.StatusOK, doc)
}

// POST /api/admin/cleanup-caches (docs/http-api.md#administration).
func (s *Server) handleCleanupCaches(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if !s.decodeOr(w, r, &body) {
		return
	}
	start := time.Now()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rings, receipts := s.lc.DropFinished(r.Context(), true)
	idem := s.idem.dropExpired(s.now())
	buckets := 0
	if s.cfg.CleanupRateLimits != nil {
		buckets = s.cfg.CleanupRateLimits()
	}
	deny, storedIdem := s.pruneExpired(r.Context())
	idem += int(storedIdem)
	debug.FreeOSMemory()
	runtime.ReadMemStats(&after)
	freed := map[string]any{"event_rings": rings, "receipts": receipts, "rate_limit_buckets": buckets,
		"idempotency_records": idem, "denylist_entries": deny}
	setAudit(r, func(a *auditState) { a.target, a.details = "caches", map[string]any{"freed": freed} })
	writeJSON(w, http.StatusOK, map[string]any{"freed": freed, "heap_inuse_before_bytes": before.HeapInuse,
		"heap_inuse_after_bytes": after.HeapInuse, "duration_ms": time.Since(start).Milliseconds()})
}

// pruneExpired deletes expired rows from the store: deny-list entries,
// the records of expired JWTs (docs/http-api.md#administration reports no count for them) and
// idempotency keys. cleanup-caches calls it, and so does the sweeper every
// minute, so the tables do not grow with every login.
func (s *Server) pruneExpired(ctx context.Context) (deny, idem int64) {
	now := s.now()
	if st := s.accountStore(); st != nil {
		deny, _ = st.DeleteExpiredRevocations(ctx, now)
		_, _ = st.DeleteExpiredIssued(ctx, now)
	}
	if is, ok := s.st.(interface {
		DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error)
	}); ok {
		idem, _ = is.DeleteExpiredIdempotency(ctx, now)
	}
	return deny, idem
}

// dropExpired removes idempotency records older than 24 h.
func (t *idemTable) dropExpired(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, rec := range t.m {
		if rec.done && now.Sub(rec.at) > 24*time.Hour {
			delete(t.m, k)
			n++
		}
	}
	return n
}

// Token, account and audit controls (docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration).

func (s *Server) handleRotateKeys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		KeepPrevious  bool  `json:"keep_previous"`
		RevokeAPIKeys *bool `json:"revoke_api_keys"`
	}
	if !s.decodeOr(w, r, &req) || !s.accountsOr(w, r) {
		return
	}
	revokeKeys := req.RevokeAPIKeys == nil || *req.RevokeAPIKeys
	res, err := s.accounts.RotateKeys(r.Context(), req.KeepPrevious, revokeKeys)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.revoked(r.Context(), "", time.Time{})
	setAudit(r, func(a *auditState) {
		a.target = "jwt_key_ring"
		a.details = map[string]any{"kid": res.KID, "previous_kid": res.PreviousKID, "keep_previous": req.KeepPrevious,
			"api_keys_revoked": res.APIKeysRevoked}
	})
	writeJSON(w, http.StatusOK, map[string]any{"kid": res.KID, "previous_kid": nullable(res.PreviousKID),
		"previous_valid_until": tsPtr(res.PreviousValidUntil), "api_keys_revoked": res.APIKeysRevoked})
}

func (s *Server) handleRevokeAll(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason  string `json:"reason"`
		APIKeys bool   `json:"api_keys"`
	}
	if !s.decodeOr(w, r, &req) || !s.accountsOr(w, r) {
		return
	}
	p := infoFrom(r.Context()).principal
	res, err := s.accounts.RevokeAllTokens(r.Context(), p.ID, req.Reason, req.APIKeys)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.revoked(r.Context(), "", time.Time{})
	setAudit(r, func(a *auditState) {
		a.target = "all_tokens"
		a.details = map[string]any{"token_generation": res.Generation.Value, "api_keys_revoked": res.APIKeysRevoked, "reason": req.Reason}
	})
	writeJSON(w, http.StatusOK, map[string]any{"token_generation": res.Generation.Value, "revoked_before": ts(res.Generation.RevokedAt),
		"api_keys_revoked": res.APIKeysRevoked})
}

func (s *Server) handleForceReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserIDs     []string `json:"user_ids"`
		ExcludeSelf *bool    `json:"exclude_self"`
		Reason      string   `json:"reason"`
	}
	if !s.decodeOr(w, r, &req) || !s.accountsOr(w, r) {
		return
	}
	exclude := ""
	if req.ExcludeSelf == nil || *req.ExcludeSelf {
		exclude = infoFrom(r.Context()).principal.ID
	}
	n, err := s.accounts.ForcePasswordReset(r.Context(), req.UserIDs, exclude)
	if n > 0 {
		s.revoked(r.Context(), "", time.Time{})
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = validation(map[string]string{"user_ids": "unknown user id"})
		}
		s.writeError(w, r, err)
		return
	}
	setAudit(r, func(a *auditState) {
		a.target = "users"
		a.details = map[string]any{"users_affected": n, "user_ids": req.UserIDs, "reason": req.Reason}
	})
	writeJSON(w, http.StatusOK, map[string]any{"users_affected": n})
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TokenID string `json:"token_id"`
		Reason  string `json:"reason"`
	}
	if !s.decodeOr(w, r, &req) || !s.accountsOr(w, r) {
		return
	}
	if req.TokenID == "" {
		s.writeError(w, r, validation(map[string]string{"token_id": "required"}))
		return
	}
	setAudit(r, func(a *auditState) { a.target = req.TokenID })
	by := infoFrom(r.Context()).principal.ID
	var res auth.RevokeResult
	var err error
	if strings.HasPrefix(req.TokenID, auth.PrefixToken) && !auth.ValidID(auth.PrefixToken, req.TokenID) && pathIDRE.MatchString(req.TokenID) {
		// A tok_ id of another shape (the runbook's tok_xyz123) cannot be
		// a jti of ours; it is deny-listed all the same, as unknown.
		res, err = s.denyUnknown(r.Context(), req.TokenID, by, req.Reason)
	} else {
		res, err = s.accounts.RevokeToken(r.Context(), req.TokenID, by, req.Reason)
	}
	if err != nil {
		if auth.CodeOf(err) == "validation_failed" {
			err = validation(map[string]string{"token_id": "must be a tok_ or key_ id"})
		}
		s.writeError(w, r, err)
		return
	}
	s.revoked(r.Context(), res.TokenID, res.ExpiresAt)
	setAudit(r, func(a *auditState) {
		a.details = map[string]any{"kind": res.Kind, "known": res.Known, "reason": req.Reason}
	})
	writeJSON(w, http.StatusOK, map[string]any{"token_id": res.TokenID, "kind": res.Kind, "revoked": true, "known": res.Known,
		"expires_at": tsPtr(res.ExpiresAt)})
}

func (s *Server) handleRevokedTokens(w http.ResponseWriter, r *http.Request) {
	_, limit, ok := s.limitQueryOr(w, r, 50, 1, 500, "limit")
	if !ok {
		return
	}
	if !s.accountsOr(w, r) {
		return
	}
	list, err := s.accounts.RevokedTokens(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(list.Revoked))
	for _, rv := range list.Revoked {
		out = append(out, map[string]any{"token_id": rv.TokenID, "kind": rv.Kind, "revoked_at": ts(rv.RevokedAt),
			"revoked_by": nullable(rv.RevokedBy), "reason": nullable(rv.Reason), "expires_at": ts(rv.ExpiresAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_generation": list.Generation.Value,
		"generation_revoked_at": tsPtr(list.Generation.RevokedAt), "revoked": out})
}

// auditCursor encodes an audit listing position.
func auditCursor(e *store.AuditEntry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(e.At.UTC().Format(time.RFC3339Nano) + "|" + e.ID))
}

func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) {
	q, limit, ok := s.limitQueryOr(w, r, 50, 1, 500, "limit", "actor", "action", "since", "cursor")
	if !ok {
		return
	}
	f := store.AuditFilter{Limit: limit + 1, Actor: q.get("actor"), Action: q.get("action")}
	if q.has("since") {
		var err error
		if f.Since, err = time.Parse(time.RFC3339Nano, q.get("since")); err != nil {
			s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "since: want an RFC 3339 time").with("parameter", "since"))
			return
		}
	}
	if q.has("cursor") {
		raw, derr := base64.RawURLEncoding.DecodeString(q.get("cursor"))
		at, id, ok := strings.Cut(string(raw), "|")
		t, perr := time.Parse(time.RFC3339Nano, at)
		if derr != nil || !ok || perr != nil {
			s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "cursor: malformed").with("parameter", "cursor"))
			return
		}
		f.Cursor = &store.Cursor{CreatedAt: t, ID: id}
	}
	st := s.auditStore()
	if st == nil {
		s.writeError(w, r, errNoAccounts)
		return
	}
	entries, err := st.ListAudit(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var next any
	if len(entries) > limit {
		entries = entries[:limit]
		c := auditCursor(entries[len(entries)-1])
		next = c
		v := r.URL.Query()
		v.Set("cursor", c)
		w.Header().Set("Link", "<"+r.URL.Path+"?"+v.Encode()+`>; rel="next"`)
	}
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		details := json.RawMessage(e.Details)
		if len(details) == 0 {
			details = json.RawMessage("{}")
		}
		out = append(out, map[string]any{"id": e.ID, "at": ts(e.At),
			"actor":  map[string]any{"id": e.Actor.ID, "type": e.Actor.Type, "role": nullable(e.Actor.Role)},
			"action": e.Action, "target": nullable(e.Target), "ip": nullable(e.IP), "user_agent": nullable(e.UserAgent),
			"correlation_id": nullable(e.CorrelationID), "outcome": e.Outcome, "details": details})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "next_cursor": next})
}

// unknownTokenTTL is how long a never-seen token id stays deny-listed: the
// default refresh-token lifetime.
const unknownTokenTTL = 720 * time.Hour

// denyUnknown records a revocation of a token id the auth service does
// not recognise (docs/http-api.md#administration: accepted even if never seen).
func (s *Server) denyUnknown(ctx context.Context, id, by, reason string) (auth.RevokeResult, error) {
	st := s.accountStore()
	if st == nil {
		return auth.RevokeResult{}, errNoAccounts
	}
	if old, err := st.GetRevocation(ctx, id); err == nil {
		return auth.RevokeResult{TokenID: id, Kind: old.Kind, Known: old.Kind != store.RevocationUnknown, ExpiresAt: old.ExpiresAt}, nil
	}
	now := s.now()
	rv := &store.Revocation{TokenID: id, Kind: store.RevocationUnknown, RevokedAt: now, RevokedBy: by, Reason: reason, ExpiresAt: now.Add(unknownTokenTTL)}
	if err := st.RevokeToken(ctx, rv); err != nil && !errors.Is(err, store.ErrConflict) {
		return auth.RevokeResult{}, err
	}
	return auth.RevokeResult{TokenID: id, Kind: store.RevocationUnknown, ExpiresAt: rv.ExpiresAt}, nil
}
