package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/store"
)

var pathIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// createRequest is the body of POST /api/debates (docs/http-api.md#create-a-debate).
type createRequest struct {
	Topic          *string           `json:"topic"`
	Question       *string           `json:"question"`
	Agents         []string          `json:"agents"`
	Rounds         *int              `json:"rounds"`
	MinRounds      *int              `json:"min_rounds"`
	Consensus      *string           `json:"consensus"`
	Judge          *string           `json:"judge"`
	Threshold      *float64          `json:"threshold"`
	Topology       *string           `json:"topology"`
	SparseK        *int              `json:"sparse_k"`
	Seed           *int64            `json:"seed"`
	MaxTokens      *int              `json:"max_tokens"`
	BudgetUSD      *float64          `json:"budget_usd"`
	TimeoutSeconds *int              `json:"timeout_seconds"`
	Context        *string           `json:"context"`
	Trickster      *bool             `json:"trickster"`
	Convergence    *bool             `json:"convergence"`
	StreamTokens   *bool             `json:"stream_tokens"`
	Metadata       map[string]string `json:"metadata"`
}

// Spec is a debate's normalised settings, stored as store.Debate.Config and
// used to run and resume it.
type Spec struct {
	Topic          string   `json:"topic"`
	Agents         []string `json:"agents"` // as requested (names or specs)
	Names          []string `json:"names"`  // derived names
	Rounds         int      `json:"rounds"`
	MinRounds      int      `json:"min_rounds"`
	Consensus      string   `json:"consensus"`
	Judge          string   `json:"judge"`
	Threshold      *float64 `json:"threshold"`
	Topology       string   `json:"topology"`
	SparseK        int      `json:"sparse_k"`
	Seed           int64    `json:"seed"`
	MaxTokens      int      `json:"max_tokens"`
	BudgetUSD      float64  `json:"budget_usd"`
	TimeoutSeconds int      `json:"timeout_seconds"`
	Context        string   `json:"context"`
	Trickster      bool     `json:"trickster"`
	Convergence    bool     `json:"convergence"`
	// ConvergenceStop ends the debate once proposals converge. The API has
	// no such request field; `aragora debate --convergence-stop` sets it, and
	// it is stored so that any process resuming the debate agrees.
	ConvergenceStop bool              `json:"convergence_stop,omitempty"`
	StreamTokens    bool              `json:"stream_tokens"`
	Metadata        map[string]string `json:"metadata"`
}

// DebateConfig returns the per-debate settings of sp as a debate.Config.
// The caller adds the process settings (store, observers, receipt
// options, clock, agent timeout, logger) and, for a judge that is not a
// debater, JudgeAgent. Every process that runs or resumes a stored debate
// builds it here, so the config fingerprint checked on resume (docs/debate.md#persistence-and-resume)
// is the same whichever process started the debate.
func (sp *Spec) DebateConfig() (debate.Config, error) {
	var threshold float64
	if sp.Threshold != nil && (sp.Consensus == consensus.NameWeighted || sp.Consensus == consensus.NameSupermajority) {
		threshold = *sp.Threshold
	}
	method, err := consensus.ByName(sp.Consensus, threshold)
	if err != nil {
		return debate.Config{}, err
	}
	cfg := debate.Config{
		Rounds: sp.Rounds, MinRounds: sp.MinRounds, Consensus: method, Topology: sp.Topology, SparseK: sp.SparseK,
		Judge: sp.Judge, Timeout: time.Duration(sp.TimeoutSeconds) * time.Second, DisableConvergence: !sp.Convergence,
		StopOnConvergence: sp.ConvergenceStop, MaxTokens: sp.MaxTokens, MaxCostUSD: sp.BudgetUSD,
		StreamTokens: sp.StreamTokens, Seed: sp.Seed,
	}
	cfg.Trickster.Enabled = sp.Trickster
	return cfg, nil
}

// normalise validates req and applies the defaults (docs/http-api.md#create-a-debate).
func (s *Server) normalise(req *createRequest) (*Spec, error) {
	fields := map[string]string{}
	sp := &Spec{Rounds: 3, MinRounds: 1, Consensus: "weighted", Topology: "all-to-all", SparseK: 2,
		TimeoutSeconds: int(s.cfg.DebateTimeout / time.Second), Convergence: true, Metadata: map[string]string{}}
	var topic string
	switch {
	case req.Topic != nil && req.Question != nil && strings.TrimSpace(*req.Topic) != strings.TrimSpace(*req.Question):
		fields["topic"] = "topic and question differ"
	case req.Topic != nil:
		topic = *req.Topic
	case req.Question != nil:
		topic = *req.Question
	}
	topic = strings.TrimSpace(topic)
	if _, bad := fields["topic"]; !bad {
		if n := utf8.RuneCountInString(topic); n < 1 || n > 10000 {
			fields["topic"] = "topic (or question) is required, 1-10000 characters"
		}
	}
	sp.Topic = topic
	sp.Agents = req.Agents
	if sp.Agents == nil {
		sp.Agents = append([]string(nil), s.cfg.DefaultAgents...)
	}
	if n := len(sp.Agents); n < 2 || n > 10 {
		fields["agents"] = "at least 2 agents are required, at most 10"
	}
	if req.Rounds != nil {
		sp.Rounds = *req.Rounds
		if sp.Rounds < 1 || sp.Rounds > 12 {
			fields["rounds"] = "must be 1-12"
		}
	}
	if req.MinRounds != nil {
		sp.MinRounds = *req.MinRounds
		if sp.MinRounds < 1 || sp.MinRounds > sp.Rounds {
			fields["min_rounds"] = "must be 1..rounds"
		}
	}
	if req.Consensus != nil {
		sp.Consensus = *req.Consensus
	}
	switch sp.Consensus {
	case "majority", "unanimous", "judge", "none":
		if req.Threshold != nil {
			fields["threshold"] = "only with weighted or supermajority"
		}
	case "weighted":
		t := s.cfg.ConsensusThreshold
		sp.Threshold = &t
	case "supermajority":
		t := 2.0 / 3
		sp.Threshold = &t
	default:
		fields["consensus"] = "must be majority, supermajority, unanimous, weighted, judge or none"
	}
	if req.Threshold != nil && (sp.Consensus == "weighted" || sp.Consensus == "supermajority") {
		t := *req.Threshold
		if !(t > 0 && t <= 1) {
			fields["threshold"] = "must be in (0, 1]"
		}
		sp.Threshold = &t
	}
	if req.Judge != nil {
		if sp.Consensus != "judge" && sp.Consensus != "none" {
			fields["judge"] = "only with consensus judge or none"
		}
		sp.Judge = *req.Judge
	}
	if req.Topology != nil {
		sp.Topology = *req.Topology
	}
	switch sp.Topology {
	case "all":
		sp.Topology = "all-to-all"
	case "all-to-all", "ring", "star", "sparse":
	default:
		fields["topology"] = "must be all-to-all, ring, star or sparse"
	}
	if req.SparseK != nil {
		if sp.Topology != "sparse" {
			fields["sparse_k"] = "only with topology sparse"
		} else if k := *req.SparseK; k < 1 || k > len(sp.Agents)-1 {
			fields["sparse_k"] = "must be 1 to agents-1"
		}
		sp.SparseK = *req.SparseK
	}
	if req.Seed != nil {
		sp.Seed = *req.Seed
		if sp.Seed < 0 || sp.Seed >= 1<<53 {
			fields["seed"] = "must be 0 <= seed < 2^53"
		}
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		sp.Seed = int64(binary.BigEndian.Uint64(b[:]) >> 11)
	}
	if req.MaxTokens != nil {
		sp.MaxTokens = *req.MaxTokens
		if sp.MaxTokens < 1000 {
			fields["max_tokens"] = "must be >= 1000"
		}
	}
	if req.BudgetUSD != nil {
		sp.BudgetUSD = *req.BudgetUSD
		if !(sp.BudgetUSD > 0) || math.IsInf(sp.BudgetUSD, 0) {
			fields["budget_usd"] = "must be > 0"
		}
	}
	if req.TimeoutSeconds != nil {
		max := int(s.cfg.DebateTimeout / time.Second)
		if t := *req.TimeoutSeconds; t < 30 || t > max {
			fields["timeout_seconds"] = fmt.Sprintf("must be 30-%d", max)
		}
		sp.TimeoutSeconds = *req.TimeoutSeconds
	}
	if req.Context != nil {
		sp.Context = *req.Context
		if utf8.RuneCountInString(sp.Context) > 20000 {
			fields["context"] = "at most 20000 characters"
		}
	}
	if req.Trickster != nil {
		sp.Trickster = *req.Trickster
	}
	if req.Convergence != nil {
		sp.Convergence = *req.Convergence
	}
	if req.StreamTokens != nil {
		sp.StreamTokens = *req.StreamTokens
	}
	if req.Metadata != nil {
		sp.Metadata = req.Metadata
		if b, _ := json.Marshal(req.Metadata); len(b) > 8<<10 {
			fields["metadata"] = "at most 8 KiB serialised"
		}
	}
	if len(fields) > 0 {
		return nil, validation(fields)
	}
	return sp, nil
}

func validation(fields map[string]string) *Error {
	var first string
	for k := range fields {
		if first == "" || k < first {
			first = k
		}
	}
	return apiErr(http.StatusBadRequest, "validation_failed", first+": "+fields[first]).with("fields", fields)
}

// resolveAgents checks every agent now (docs/http-api.md#create-a-debate) and fills sp.Names.
func (s *Server) resolveAgents(sp *Spec) ([]ResolvedAgent, *ResolvedAgent, error) {
	if s.agents == nil {
		return nil, nil, apiErr(http.StatusBadRequest, "unknown_agent", "no agent registry configured")
	}
	resolve := func(spec string) (ResolvedAgent, error) {
		ra, err := s.agents.Resolve(spec, sp.Seed)
		if err != nil {
			e := errorFor(err)
			if e.Code == "unknown_agent" || e.Code == "agent_unavailable" {
				e = &Error{Status: e.Status, Code: e.Code, Message: err.Error(), Err: err}
				e.with("agent", spec).with("reason", err.Error())
				return ra, e
			}
			return ra, err
		}
		return ra, nil
	}
	seen := map[string]bool{}
	var out []ResolvedAgent
	sp.Names = nil
	for _, a := range sp.Agents {
		ra, err := resolve(a)
		if err != nil {
			return nil, nil, err
		}
		k := strings.ToLower(ra.Name)
		if seen[k] {
			return nil, nil, validation(map[string]string{"agents": fmt.Sprintf("agent %q given twice", ra.Name)})
		}
		seen[k] = true
		out = append(out, ra)
		sp.Names = append(sp.Names, ra.Name)
	}
	var judge *ResolvedAgent
	if sp.Judge != "" {
		found := false
		for _, ra := range out {
			if strings.EqualFold(ra.Name, sp.Judge) || sp.Judge == ra.Name {
				found = true
			}
		}
		if !found {
			ra, err := resolve(sp.Judge)
			if err != nil {
				return nil, nil, err
			}
			judge = &ra
		}
	}
	return out, judge, nil
}

// newDebateID returns "deb_" + a 26-character lowercase ULID.
func newDebateID(t time.Time) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	// 128 bits → 26 base32 characters (the first carries 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return "deb_" + string(out)
}

// epochOf is the stream epoch of a debate: stable while its stored history
// can be replayed.
func epochOf(id string) string {
	h := sha256.Sum256([]byte("epoch:" + id))
	return hex.EncodeToString(h[:3])
}

// idempotency records (docs/http-api.md#idempotency), in memory per replica.
type idemRecord struct {
	fingerprint string
	status      int
	body        []byte
	location    string
	done        bool
	at          time.Time
}

type idemTable struct {
	mu sync.Mutex
	m  map[string]*idemRecord
}

var validKeyRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// handleCreate is POST /api/debates.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	if err := s.create(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var req createRequest
	if err := decodeBody(r, s.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	sp, err := s.normalise(&req)
	if err != nil {
		return err
	}
	if s.draining.Load() {
		return ErrShuttingDown
	}
	key := r.Header.Get("Idempotency-Key")
	info := infoFrom(r.Context())
	// complete stores the successful response under the Idempotency-Key;
	// until it runs, a deferred abort frees the key (failed requests are
	// not stored, docs/http-api.md#idempotency).
	complete := func(status int, body []byte, debateID string) {}
	if _, has := r.Header["Idempotency-Key"]; has {
		if !validKeyRE.MatchString(key) {
			return validation(map[string]string{"Idempotency-Key": "1-255 visible ASCII characters"})
		}
		seedless := *sp
		if req.Seed == nil {
			seedless.Seed = 0
		}
		fp, _ := json.Marshal(seedless)
		sum := sha256.Sum256(fp)
		fingerprint := hex.EncodeToString(sum[:])
		var replayed, done bool
		var abort func()
		var err error
		if is, ok := s.st.(store.IdempotencyStore); ok {
			replayed, complete, abort, err = s.idemBeginStore(w, r, is, info.principal.ID, key, fingerprint)
		} else {
			replayed, complete, abort, err = s.idemBeginMemory(w, info.principal.ID, key, fingerprint)
		}
		if err != nil || replayed {
			return err
		}
		inner := complete
		complete = func(status int, body []byte, debateID string) { inner(status, body, debateID); done = true }
		defer func() {
			if !done {
				abort()
			}
		}()
	}
	if _, _, err := s.resolveAgents(sp); err != nil {
		return err
	}
	now := s.now().UTC()
	cfgJSON, err := json.Marshal(sp)
	if err != nil {
		return fmt.Errorf("server: encode spec: %w", err)
	}
	d := &store.Debate{ID: newDebateID(now), Topic: sp.Topic, Status: store.StatusPending, Owner: info.principal.ID,
		CorrelationID: info.correlationID, Config: cfgJSON, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateDebate(r.Context(), d); err != nil {
		return fmt.Errorf("server: create debate: %w", err)
	}
	status, err := s.runner.submit(d.ID, false)
	if err != nil {
		s.overlay.update(d.ID, func(ls *liveState) { ls.Status = store.StatusFailed })
		if l, ok := s.st.(store.Leaser); ok {
			_ = l.UpdateStatus(context.WithoutCancel(r.Context()), d.ID, []string{store.StatusPending}, store.StatusFailed, now)
		}
		return err
	}
	s.debLog.Info("debate_created", "debate_id", d.ID, "correlation_id", d.CorrelationID, "agents", sp.Names,
		"rounds", sp.Rounds, "topic_len", utf8.RuneCountInString(sp.Topic), "status", status)
	d.Status = status
	obj := s.debateObject(d, sp, true)
	obj.Status = status
	body, _ := json.Marshal(obj)
	body = append(body, '\n')
	loc := "/api/debates/" + d.ID
	complete(http.StatusAccepted, body, d.ID)
	s.hub.control("debate_created", d.ID, obj.summary())
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
	return nil
}

// replayIdem writes a stored idempotent response byte for byte.
func replayIdem(w http.ResponseWriter, status int, body []byte, location string) {
	w.Header().Set("Idempotent-Replayed", "true")
	if location != "" {
		w.Header().Set("Location", location)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// idemConflict maps an existing record to 422 (other request) or 409 (in
// progress); nil means its response may be replayed.
func idemConflict(oldFingerprint, fingerprint string, inProgress bool) error {
	switch {
	case oldFingerprint != fingerprint:
		return apiErr(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key reused with a different request")
	case inProgress:
		return &Error{Status: http.StatusConflict, Code: "idempotency_in_progress", Message: "request with this Idempotency-Key in progress", RetryAfter: 1}
	}
	return nil
}

// idemBeginMemory reserves an Idempotency-Key in this replica's memory (a
// store without store.IdempotencyStore). replayed is true when it wrote
// the stored response.
func (s *Server) idemBeginMemory(w http.ResponseWriter, principal, key, fingerprint string) (replayed bool, complete func(int, []byte, string), abort func(), err error) {
	k := principal + "\x00" + key
	s.idem.mu.Lock()
	for kk, v := range s.idem.m {
		if s.now().Sub(v.at) > 24*time.Hour {
			delete(s.idem.m, kk)
		}
	}
	if old, ok := s.idem.m[k]; ok {
		s.idem.mu.Unlock()
		if err := idemConflict(old.fingerprint, fingerprint, !old.done); err != nil {
			return false, nil, nil, err
		}
		replayIdem(w, old.status, old.body, old.location)
		return true, nil, nil, nil
	}
	rec := &idemRecord{fingerprint: fingerprint, at: s.now()}
	s.idem.m[k] = rec
	s.idem.mu.Unlock()
	complete = func(status int, body []byte, debateID string) {
		s.idem.mu.Lock()
		rec.status, rec.body, rec.location, rec.done = status, body, "/api/debates/"+debateID, true
		s.idem.mu.Unlock()
	}
	abort = func() {
		s.idem.mu.Lock()
		delete(s.idem.m, k)
		s.idem.mu.Unlock()
	}
	return false, complete, abort, nil
}

// idemInProgressLease bounds how long a crashed request holds its key.
const idemInProgressLease = 5 * time.Minute

// idemBeginStore reserves an Idempotency-Key in the store, so every
// replica and a restarted process honour it (docs/http-api.md#idempotency).
func (s *Server) idemBeginStore(w http.ResponseWriter, r *http.Request, is store.IdempotencyStore, principal, key, fingerprint string) (replayed bool, complete func(int, []byte, string), abort func(), err error) {
	now := s.now()
	old, err := is.BeginIdempotent(r.Context(), &store.IdempotencyRecord{Principal: principal, Key: key, Fingerprint: fingerprint,
		CreatedAt: now, ExpiresAt: now.Add(idemInProgressLease)}, now)
	if err != nil {
		if !errors.Is(err, store.ErrConflict) || old == nil {
			return false, nil, nil, fmt.Errorf("server: idempotency: %w", err)
		}
		if err := idemConflict(old.Fingerprint, fingerprint, old.InProgress()); err != nil {
			return false, nil, nil, err
		}
		loc := ""
		if old.DebateID != "" {
			loc = "/api/debates/" + old.DebateID
		}
		replayIdem(w, old.StatusCode, old.Body, loc)
		return true, nil, nil, nil
	}
	bg := context.WithoutCancel(r.Context())
	complete = func(status int, body []byte, debateID string) {
		if err := is.CompleteIdempotent(bg, principal, key, fingerprint, status, body, debateID, s.now().Add(24*time.Hour)); err != nil {
			s.log.Warn("idempotency_complete_failed", "error", err.Error(), "correlation_id", infoFrom(r.Context()).correlationID)
		}
	}
	abort = func() {
		if err := is.AbortIdempotent(bg, principal, key); err != nil {
			s.log.Warn("idempotency_abort_failed", "error", err.Error(), "correlation_id", infoFrom(r.Context()).correlationID)
		}
	}
	return false, complete, abort, nil
}

// DebateObject is the debate of docs/http-api.md#the-debate-object.
type DebateObject struct {
	ID              string            `json:"id"`
	Topic           string            `json:"topic"`
	Status          string            `json:"status"`
	StopReason      *string           `json:"stop_reason"`
	Agents          []string          `json:"agents"`
	Rounds          int               `json:"rounds"`
	RoundsUsed      int               `json:"rounds_used"`
	MinRounds       int               `json:"min_rounds"`
	Topology        string            `json:"topology"`
	Consensus       consensusObj      `json:"consensus"`
	Verdict         *string           `json:"verdict"`
	FinalAnswer     *string           `json:"final_answer,omitempty"`
	CreatedAt       string            `json:"created_at"`
	UpdatedAt       string            `json:"updated_at"`
	StartedAt       *string           `json:"started_at"`
	FinishedAt      *string           `json:"finished_at"`
	DurationSeconds float64           `json:"duration_seconds"`
	Tokens          tokensObj         `json:"tokens"`
	CostUSD         float64           `json:"cost_usd"`
	Budget          budgetObj         `json:"budget"`
	Owner           string            `json:"owner"`
	CorrelationID   string            `json:"correlation_id"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Error           *errObj           `json:"error"`
	ReceiptID       *string           `json:"receipt_id"`
	LastSeq         int64             `json:"last_seq"`
	StreamEpoch     string            `json:"stream_epoch"`
	full            bool
}

type consensusObj struct {
	Method     string   `json:"method"`
	Threshold  *float64 `json:"threshold"`
	Reached    *bool    `json:"reached"`
	Confidence *float64 `json:"confidence"`
}

type tokensObj struct {
	Input  int `json:"input"`
	Output int `json:"output"`
}

type budgetObj struct {
	MaxTokens *int     `json:"max_tokens"`
	BudgetUSD *float64 `json:"budget_usd"`
}

type errObj struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ResultDoc is the result document stored with a finished debate.
type ResultDoc struct {
	Status      string          `json:"status"`
	StopReason  string          `json:"stop_reason"`
	Verdict     string          `json:"verdict"`
	Confidence  float64         `json:"confidence"`
	Reached     bool            `json:"reached"`
	FinalAnswer string          `json:"final_answer"`
	Winner      string          `json:"winner"`
	RoundsUsed  int             `json:"rounds_used"`
	Tokens      tokensObj       `json:"tokens"`
	CostUSD     float64         `json:"cost_usd"`
	ReceiptID   string          `json:"receipt_id"`
	Receipt     json.RawMessage `json:"receipt"`
	Error       *errObj         `json:"error"`
	StartedAt   time.Time       `json:"started_at"`
	FinishedAt  time.Time       `json:"finished_at"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func tsPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

// effective merges the stored record with this process's live state.
func (s *Server) effective(d *store.Debate) (status string, started, finished time.Time, result *ResultDoc) {
	status, started, finished, raw := s.effectiveRaw(d)
	result, started, finished = withResultDoc(s.docs.result(d.ID, raw), status, started, finished)
	return status, started, finished, result
}

// effectiveRaw is effective before the result document is parsed: raw is
// the stored one, or the live one while the store has none.
func (s *Server) effectiveRaw(d *store.Debate) (status string, started, finished time.Time, raw json.RawMessage) {
	status, started, finished = d.Status, d.StartedAt, d.FinishedAt
	raw = d.Result
	if ls, ok := s.overlay.get(d.ID); ok {
		// The orchestrator records the final status before the server has
		// stored the result and receipt: while this replica still runs the
		// debate, its live status wins, so a finished debate always has its
		// receipt.
		finishing := store.Terminal(status) && ls.Status == store.StatusRunning && s.runner.local(d.ID)
		if !store.Terminal(status) || store.Terminal(ls.Status) || finishing {
			if ls.Status != "" {
				status = ls.Status
			}
		}
		if started.IsZero() {
			started = ls.StartedAt
		}
		if finished.IsZero() {
			finished = ls.FinishedAt
		}
		if len(raw) == 0 || string(raw) == "null" {
			raw = ls.Result
		}
	}
	return status, started, finished, raw
}

// withResult parses a stored result document; its times fill the record's
// when those are unset.
func withResult(raw json.RawMessage, status string, started, finished time.Time) (*ResultDoc, time.Time, time.Time) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, started, finished
	}
	var rd ResultDoc
	if json.Unmarshal(raw, &rd) != nil {
		return nil, started, finished
	}
	return withResultDoc(&rd, status, started, finished)
}

// withResultDoc is withResult for a parsed document (nil: none).
func withResultDoc(rd *ResultDoc, status string, started, finished time.Time) (*ResultDoc, time.Time, time.Time) {
	if rd == nil {
		return nil, started, finished
	}
	if started.IsZero() {
		started = rd.StartedAt
	}
	if finished.IsZero() && store.Terminal(status) {
		finished = rd.FinishedAt
	}
	return rd, started, finished
}

func (s *Server) debateObject(d *store.Debate, sp *Spec, full bool) *DebateObject {
	status, started, finished, res := s.effective(d)
	if sp == nil {
		sp = s.docs.spec(d.ID, d.Config)
	}
	return objectOf(d, sp, status, started, finished, res, s.now(), full, s.docs.epoch(d.ID))
}

// RecordObject returns the full debate object (docs/http-api.md#the-debate-object) of a debate
// record as stored: its Config is the debate's Spec and its Result the
// document of ResultDocument. `aragora debate --format json` prints it, so
// the CLI and the API describe a debate alike.
func RecordObject(d *store.Debate, now time.Time) *DebateObject {
	res, started, finished := withResult(d.Result, d.Status, d.StartedAt, d.FinishedAt)
	return objectOf(d, nil, d.Status, started, finished, res, now, true, epochOf(d.ID))
}

func objectOf(d *store.Debate, sp *Spec, status string, started, finished time.Time, res *ResultDoc, now time.Time, full bool, epoch string) *DebateObject {
	if sp == nil {
		sp = &Spec{}
		_ = json.Unmarshal(d.Config, sp)
	}
	o := &DebateObject{ID: d.ID, Topic: d.Topic, Status: status, Agents: sp.Names, Rounds: sp.Rounds, MinRounds: sp.MinRounds,
		Topology: sp.Topology, Consensus: consensusObj{Method: sp.Consensus, Threshold: sp.Threshold},
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), StartedAt: tsPtr(started), Owner: d.Owner,
		CorrelationID: d.CorrelationID, LastSeq: d.LastSeq, StreamEpoch: epoch, full: full}
	if o.Agents == nil {
		o.Agents = sp.Agents
	}
	if o.Agents == nil {
		o.Agents = []string{}
	}
	if sp.MaxTokens > 0 {
		o.Budget.MaxTokens = &sp.MaxTokens
	}
	if sp.BudgetUSD > 0 {
		o.Budget.BudgetUSD = &sp.BudgetUSD
	}
	if store.Terminal(status) {
		o.FinishedAt = tsPtr(finished)
	}
	if !started.IsZero() {
		end := now
		if store.Terminal(status) && !finished.IsZero() {
			end = finished
		}
		o.DurationSeconds = math.Round(end.Sub(started).Seconds()*1000) / 1000
	}
	if res != nil {
		o.StopReason = &res.StopReason
		o.Verdict = &res.Verdict
		o.Consensus.Reached = &res.Reached
		o.Consensus.Confidence = &res.Confidence
		o.RoundsUsed = res.RoundsUsed
		o.Tokens = res.Tokens
		o.CostUSD = res.CostUSD
		o.Error = res.Error
		if res.ReceiptID != "" {
			o.ReceiptID = &res.ReceiptID
		}
		if full {
			o.FinalAnswer = &res.FinalAnswer
		}
	}
	if full {
		o.Metadata = sp.Metadata
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
	}
	return o
}

// MarshalJSON writes final_answer and metadata (null when unset) only on
// full objects, not on summaries.
func (o *DebateObject) MarshalJSON() ([]byte, error) {
	type plain DebateObject
	b, err := json.Marshal((*plain)(o))
	if err != nil || !o.full {
		return b, err
	}
	if o.FinalAnswer == nil {
		b = append(b[:len(b)-1], []byte(`,"final_answer":null}`)...)
	}
	if len(o.Metadata) == 0 {
		b = append(b[:len(b)-1], []byte(`,"metadata":{}}`)...)
	}
	return b, nil
}

func (o *DebateObject) summary() *DebateObject {
	c := *o
	c.full, c.FinalAnswer, c.Metadata = false, nil, nil
	return &c
}

func (s *Server) loadDebate(r *http.Request) (*store.Debate, error) {
	id := r.PathValue("id")
	if !tokenOf(id, 64, false) {
		return nil, apiErr(http.StatusNotFound, "not_found", "no such debate")
	}
	d, err := s.st.GetDebate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, "not_found", "no such debate")
	}
	if err != nil {
		return nil, fmt.Errorf("server: get debate: %w", err)
	}
	return d, nil
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.loadDebate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if b, o := s.fullObjectJSON(d); b != nil {
		writeJSONBody(w, http.StatusOK, b)
	} else {
		writeJSON(w, http.StatusOK, o)
	}
}

// fullObjectJSON returns the JSON of d's full debate object, newline
// included, or nil and the object when it does not encode. A finished
// debate's object depends only on its record and documents, so its
// encoding is kept in s.docs and reused while they are unchanged.
func (s *Server) fullObjectJSON(d *store.Debate) ([]byte, *DebateObject) {
	status, started, finished, raw := s.effectiveRaw(d)
	key := objectKey{status: status, topic: d.Topic, owner: d.Owner, correlationID: d.CorrelationID, lastSeq: d.LastSeq,
		created: d.CreatedAt, updated: d.UpdatedAt, started: started, finished: finished}
	if b := s.docs.body(d.ID, d.Config, raw, key); b != nil {
		return b, nil
	}
	res, started, finished := withResultDoc(s.docs.result(d.ID, raw), status, started, finished)
	o := objectOf(d, s.docs.spec(d.ID, d.Config), status, started, finished, res, s.now(), true, s.docs.epoch(d.ID))
	b, err := o.MarshalJSON()
	if err != nil {
		return nil, o
	}
	b = append(b, '\n')
	// Unfinished, or without a finish time, the duration follows the clock.
	if store.Terminal(status) && !finished.IsZero() {
		s.docs.setBody(d.ID, d.Config, raw, key, b)
	}
	return b, nil
}

var allStatuses = []string{store.StatusPending, store.StatusRunning, store.StatusConsensusReached, store.StatusNoConsensus,
	store.StatusTimeout, store.StatusFailed, store.StatusCancelled, store.StatusBudgetExceeded}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "status", "owner", "limit", "cursor")
	if err == nil {
		err = s.list(w, r, q)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, q query) error {
	limit, err := q.intParam("limit", 50, 1, 200)
	if err != nil {
		return err
	}
	f := store.Filter{Limit: limit + 1}
	if q.has("status") {
		for _, st := range strings.Split(q.get("status"), ",") {
			ok := false
			for _, a := range allStatuses {
				ok = ok || a == st
			}
			if !ok {
				return apiErr(http.StatusBadRequest, "invalid_query", fmt.Sprintf("status: unknown status %q", st)).with("parameter", "status")
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if q.has("owner") {
		f.Owner = q.get("owner")
		if f.Owner == "me" {
			f.Owner = infoFrom(r.Context()).principal.ID
		}
	}
	if q.has("cursor") {
		c, err := decodeCursor(q.get("cursor"))
		if err != nil {
			return apiErr(http.StatusBadRequest, "invalid_query", "cursor: malformed").with("parameter", "cursor")
		}
		f.Cursor = c
	}
	ds, err := s.st.ListDebates(r.Context(), f)
	if err != nil {
		return fmt.Errorf("server: list debates: %w", err)
	}
	out := make([]*DebateObject, 0, len(ds))
	for i, d := range ds {
		if i == limit {
			break
		}
		out = append(out, s.debateObject(d, nil, false))
	}
	if len(ds) > limit {
		last := ds[limit-1]
		v := url.Values{}
		for _, k := range []string{"status", "owner"} {
			if q.has(k) {
				v.Set(k, q.get(k))
			}
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("cursor", encodeCursor(last.CreatedAt, last.ID))
		w.Header().Set("Link", "</api/debates?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (*store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	t, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return nil, errors.New("server: bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return nil, err
	}
	return &store.Cursor{CreatedAt: at, ID: id}, nil
}

// withEpoch inserts "epoch" into a stored event's wire JSON.
func withEpoch(ev []byte, epoch string) []byte {
	ev = bytes.TrimSpace(ev)
	if len(ev) < 2 || ev[0] != '{' {
		return ev
	}
	out := make([]byte, 0, len(ev)+24)
	out = append(out, `{"epoch":"`...)
	out = append(out, epoch...)
	out = append(out, '"')
	if len(bytes.TrimSpace(ev[1:])) > 1 {
		out = append(out, ',')
	}
	return append(out, ev[1:]...)
}

func (s *Server) events() (store.EventReader, bool) {
	er, ok := s.st.(store.EventReader)
	return er, ok
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "after_seq", "limit")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, err := q.int64Param("after_seq")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := q.intParam("limit", 500, 1, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.loadDebate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	epoch := epochOf(d.ID)
	var evs []store.Event
	if er, ok := s.events(); ok {
		evs, err = er.ListEvents(r.Context(), d.ID, after, limit+1)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("server: list events: %w", err))
			return
		}
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	raw := make([]json.RawMessage, 0, len(evs))
	last := d.LastSeq
	for _, e := range evs {
		raw = append(raw, withEpoch(e.JSON, epoch))
		if e.Seq > last {
			last = e.Seq
		}
	}
	status, _, _, _ := s.effective(d)
	writeJSON(w, http.StatusOK, map[string]any{"debate_id": d.ID, "stream_epoch": epoch, "events": raw,
		"last_seq": last, "has_more": more, "finished": store.Terminal(status)})
}

// ReceiptRenderer renders a stored receipt (its JSON) as markdown or html.
type ReceiptRenderer interface {
	Render(format string, receiptJSON []byte) ([]byte, error)
}

func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r, "format")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := q.get("format")
	if !q.has("format") {
		accept := r.Header.Get("Accept")
		switch {
		case strings.Contains(accept, "text/markdown"):
			format = "markdown"
		case strings.Contains(accept, "text/html"):
			format = "html"
		default:
			format = "json"
		}
	}
	if format != "json" && format != "markdown" && format != "html" {
		s.writeError(w, r, apiErr(http.StatusBadRequest, "invalid_query", "format: want json, markdown or html").with("parameter", "format"))
		return
	}
	d, err := s.loadDebate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status, _, _, res := s.effective(d)
	if !store.Terminal(status) {
		s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate has not finished").with("state", status))
		return
	}
	if res == nil || len(res.Receipt) == 0 || string(res.Receipt) == "null" {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no receipt recorded for this debate"))
		return
	}
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(res.Receipt)
		return
	}
	if ls, ok := s.overlay.get(d.ID); ok && ls.Receipts[format] != nil {
		s.writeReceipt(w, format, ls.Receipts[format])
		return
	}
	if s.cfg.Receipts == nil {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "receipt format not available"))
		return
	}
	b, err := s.cfg.Receipts.Render(format, res.Receipt)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("server: render receipt: %w", err))
		return
	}
	s.overlay.update(d.ID, func(ls *liveState) {
		if ls.Receipts == nil {
			ls.Receipts = map[string][]byte{}
		}
		ls.Receipts[format] = b
	})
	s.writeReceipt(w, format, b)
}

func (s *Server) writeReceipt(w http.ResponseWriter, format string, b []byte) {
	if format == "html" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	} else {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	}
	_, _ = w.Write(b)
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

// errCancelledByAPI is the cancellation cause of POST /cancel.
var errCancelledByAPI = context.Canceled

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if _, err := parseQuery(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := decodeBody(r, s.cfg.MaxBodyBytes, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.loadDebate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := infoFrom(r.Context()).principal
	if roleRank(p.Role) < roleRank(RoleAdmin) && d.Owner != p.ID {
		s.writeError(w, r, apiErr(http.StatusForbidden, "forbidden", "only the owner or an admin may cancel").with("required_role", RoleAdmin))
		return
	}
	status, _, _, _ := s.effective(d)
	switch {
	case status == store.StatusCancelled:
	case store.Terminal(status):
		s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate already finished").with("state", status))
		return
	default:
		done, ok := s.runner.cancel(d.ID, errCancelledByAPI)
		if !ok {
			s.writeError(w, r, apiErr(http.StatusConflict, "invalid_state", "the debate runs on another replica").with("state", status))
			return
		}
		t := time.NewTimer(5 * time.Second)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
		s.debLog.Info("debate_cancel_requested", "debate_id", d.ID, "correlation_id", infoFrom(r.Context()).correlationID, "reason_len", len(req.Reason))
	}
	if nd, err := s.st.GetDebate(r.Context(), d.ID); err == nil {
		d = nd
	}
	obj := s.debateObject(d, nil, true)
	if !store.Terminal(obj.Status) {
		obj.Status = store.StatusCancelled
	}
	writeJSON(w, http.StatusOK, obj)
}
