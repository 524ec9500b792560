package lifecycle

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
)

// Spec is a debate's normalised settings, stored as store.Debate.Config and
// used to run and resume it. Every process that runs a stored debate (a
// server replica, `aragora debate --resume`) rebuilds its orchestrator from
// it, so all of them agree.
type Spec struct {
	Topic          string               `json:"topic"`
	Agents         []string             `json:"agents"` // as requested (names or specs)
	Names          []string             `json:"names"`  // derived names
	Rounds         int                  `json:"rounds"`
	MinRounds      int                  `json:"min_rounds"`
	Consensus      consensus.MethodName `json:"consensus"`
	Judge          string               `json:"judge"`
	Threshold      *float64             `json:"threshold"`
	Topology       debate.Topology      `json:"topology"`
	SparseK        int                  `json:"sparse_k"`
	Seed           int64                `json:"seed"`
	MaxTokens      int                  `json:"max_tokens"`
	BudgetUSD      float64              `json:"budget_usd"`
	TimeoutSeconds int                  `json:"timeout_seconds"`
	Context        string               `json:"context"`
	Trickster      bool                 `json:"trickster"`
	Convergence    bool                 `json:"convergence"`
	// ConvergenceStop ends the debate once proposals converge. The API has
	// no such request field; `aragora debate --convergence-stop` sets it, and
	// it is stored so that any process resuming the debate agrees.
	ConvergenceStop bool              `json:"convergence_stop,omitempty"`
	StreamTokens    bool              `json:"stream_tokens"`
	Metadata        map[string]string `json:"metadata"`
}

// ParseSpec decodes a stored Spec (store.Debate.Config).
func ParseSpec(raw []byte) (*Spec, error) {
	sp := &Spec{}
	if err := json.Unmarshal(raw, sp); err != nil {
		return nil, fmt.Errorf("lifecycle: stored settings unreadable: %w", err)
	}
	return sp, nil
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
	method, err := consensus.ByName(sp.Consensus.String(), threshold)
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

// Request is the body of POST /api/debates (docs/http-api.md#create-a-debate): every field is
// optional except the topic (or its alias question); Normalise applies the
// defaults.
type Request struct {
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

// Defaults are the process settings a Request's omitted fields take.
type Defaults struct {
	// Agents when a request names none; default demo-analyst,
	// demo-critic, demo-judge.
	Agents []string
	// DebateTimeout is the default and the largest timeout_seconds;
	// default 900 s.
	DebateTimeout time.Duration
	// ConsensusThreshold is weighted's default threshold; default 0.6.
	ConsensusThreshold float64
}

func (d Defaults) withDefaults() Defaults {
	if len(d.Agents) == 0 {
		d.Agents = []string{"demo-analyst", "demo-critic", "demo-judge"}
	}
	if d.DebateTimeout <= 0 {
		d.DebateTimeout = 900 * time.Second
	}
	if d.ConsensusThreshold <= 0 {
		d.ConsensusThreshold = 0.6
	}
	return d
}

// ValidationError reports the invalid fields of a request, by field name
// (JSON name), each with what is wanted.
type ValidationError struct {
	Fields map[string]string
}

// First returns the alphabetically first invalid field and its message.
func (e *ValidationError) First() (field, msg string) {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "", ""
	}
	return keys[0], e.Fields[keys[0]]
}

func (e *ValidationError) Error() string {
	f, m := e.First()
	return "lifecycle: invalid request: " + f + ": " + m
}

// invalid returns a ValidationError of one field.
func invalid(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// Normalise validates req and applies the defaults of docs/http-api.md#create-a-debate. It
// returns a *ValidationError naming every invalid field. It does not
// resolve the agents (see ResolveAgents).
func (req *Request) Normalise(def Defaults) (*Spec, error) {
	def = def.withDefaults()
	fields := map[string]string{}
	sp := &Spec{Rounds: 3, MinRounds: 1, Consensus: consensus.NameWeighted, Topology: debate.TopologyAllToAll, SparseK: 2,
		TimeoutSeconds: int(def.DebateTimeout / time.Second), Convergence: true, Metadata: map[string]string{}}
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
		sp.Agents = append([]string(nil), def.Agents...)
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
		sp.Consensus = consensus.MethodName(*req.Consensus)
	}
	switch sp.Consensus {
	case consensus.NameMajority, consensus.NameUnanimous, consensus.NameJudge, consensus.NameNone:
		if req.Threshold != nil {
			fields["threshold"] = "only with weighted or supermajority"
		}
	case consensus.NameWeighted:
		t := def.ConsensusThreshold
		sp.Threshold = &t
	case consensus.NameSupermajority:
		t := 2.0 / 3
		sp.Threshold = &t
	default:
		fields["consensus"] = "must be majority, supermajority, unanimous, weighted, judge or none"
	}
	if req.Threshold != nil && (sp.Consensus == consensus.NameWeighted || sp.Consensus == consensus.NameSupermajority) {
		t := *req.Threshold
		if !(t > 0 && t <= 1) {
			fields["threshold"] = "must be in (0, 1]"
		}
		sp.Threshold = &t
	}
	if req.Judge != nil {
		if sp.Consensus != consensus.NameJudge && sp.Consensus != consensus.NameNone {
			fields["judge"] = "only with consensus judge or none"
		}
		sp.Judge = *req.Judge
	}
	if req.Topology != nil {
		t, err := debate.ParseTopology(*req.Topology)
		if err != nil {
			fields["topology"] = "must be all-to-all, ring, star or sparse"
		}
		sp.Topology = t
	}
	if req.SparseK != nil {
		if sp.Topology != debate.TopologySparse {
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
		max := int(def.DebateTimeout / time.Second)
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
		return nil, &ValidationError{Fields: fields}
	}
	return sp, nil
}
