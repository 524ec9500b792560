package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JSON returns the JSON export: the field order of docs/receipts.md#format, a 2-space indent and a
// trailing newline. Floats are written in their shortest round-trip form,
// nil lists as [], nil metadata as {} (keys sorted), a nil threshold and a
// nil signature as null, and timestamps in [TimeLayout]. Strings are not
// HTML-escaped. It does not seal: call [Receipt.Seal] or [Receipt.Sign]
// first.
func (r *Receipt) JSON() ([]byte, error) {
	t, err := r.tree(true, r.Signature, true)
	if err != nil {
		return nil, err
	}
	w := exportWriter{buf: make([]byte, 0, 2048)}
	if err := w.value(t, 0); err != nil {
		return nil, err
	}
	return append(w.buf, '\n'), nil
}

// MarshalJSON implements json.Marshaler with the compact form of
// [Receipt.JSON], so a receipt embedded in another value keeps its wire
// shape.
// It has a value receiver, like time.Time's, so that both Receipt and
// *Receipt values marshal this way.
func (r Receipt) MarshalJSON() ([]byte, error) {
	t, err := r.tree(true, r.Signature, true)
	if err != nil {
		return nil, err
	}
	w := exportWriter{buf: make([]byte, 0, 2048), compact: true}
	if err := w.value(t, 0); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// exportWriter writes an ordered tree as JSON, indented unless compact.
type exportWriter struct {
	buf     []byte
	compact bool
}

func (w *exportWriter) newline(depth int) {
	if w.compact {
		return
	}
	w.buf = append(w.buf, '\n')
	for range depth {
		w.buf = append(w.buf, ' ', ' ')
	}
}

func (w *exportWriter) value(v any, depth int) error {
	var err error
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case string:
		w.buf = appendString(w.buf, x)
	case float64:
		w.buf, err = appendNumber(w.buf, x)
		if err != nil {
			return fmt.Errorf("receipt: json: %w", err)
		}
	case int64:
		w.buf = strconv.AppendInt(w.buf, x, 10)
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		return w.value(items, depth)
	case []any:
		return w.list('[', ']', len(x), depth, func(i int) error { return w.value(x[i], depth+1) })
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		o := make(object, len(keys))
		for i, k := range keys {
			o[i] = member{k, x[k]}
		}
		return w.value(o, depth)
	case object:
		return w.list('{', '}', len(x), depth, func(i int) error {
			w.buf = appendString(w.buf, x[i].key)
			w.buf = append(w.buf, ':')
			if !w.compact {
				w.buf = append(w.buf, ' ')
			}
			return w.value(x[i].val, depth+1)
		})
	default:
		return fmt.Errorf("receipt: json: unexpected %T", v) // unreachable: tree builds only the types above
	}
	return nil
}

// list writes n elements (elem writes the i-th) between open and close,
// each on its own line unless compact; with none, open and close only.
func (w *exportWriter) list(open, close byte, n, depth int, elem func(i int) error) error {
	if n == 0 {
		w.buf = append(w.buf, open, close)
		return nil
	}
	w.buf = append(w.buf, open)
	for i := range n {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.newline(depth + 1)
		if err := elem(i); err != nil {
			return err
		}
	}
	w.newline(depth)
	w.buf = append(w.buf, close)
	return nil
}

// wireReceipt is the decoding shape of a receipt.
type wireReceipt struct {
	Schema                 string            `json:"schema"`
	ReceiptID              string            `json:"receipt_id"`
	DebateID               string            `json:"debate_id"`
	CreatedAt              string            `json:"created_at"`
	Question               string            `json:"question"`
	ContextSHA256          string            `json:"context_sha256"`
	Status                 string            `json:"status"`
	Verdict                string            `json:"verdict"`
	Confidence             float64           `json:"confidence"`
	FinalAnswer            string            `json:"final_answer"`
	Winner                 string            `json:"winner"`
	Consensus              Consensus         `json:"consensus"`
	Agents                 []Agent           `json:"agents"`
	RoundsPlanned          int               `json:"rounds_planned"`
	RoundsUsed             int               `json:"rounds_used"`
	TricksterInterventions int               `json:"trickster_interventions"`
	Convergence            Convergence       `json:"convergence"`
	Usage                  Usage             `json:"usage"`
	StartedAt              string            `json:"started_at"`
	EndedAt                string            `json:"ended_at"`
	DurationMS             int64             `json:"duration_ms"`
	Metadata               map[string]string `json:"metadata"`
	ContentHash            string            `json:"content_hash"`
	Signature              *Signature        `json:"signature"`
}

// Parse decodes a receipt written by [Receipt.JSON] (or any JSON of the same
// shape). Every top-level field must be present, unknown fields and a schema
// other than [Schema] are rejected, and timestamps must be RFC 3339. Errors
// wrap [ErrMalformed]. Parse does not verify: use [Receipt.VerifyHash] or
// [Verify].
func Parse(data []byte) (*Receipt, error) {
	var r Receipt
	if err := r.parse(data); err != nil {
		return nil, err
	}
	return &r, nil
}

// UnmarshalJSON implements json.Unmarshaler with the rules of [Parse],
// except that JSON null is a no-op, as encoding/json expects.
func (r *Receipt) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	return r.parse(data)
}

func (r *Receipt) parse(data []byte) error {
	// The top-level fields in docs/receipts.md#format order; all are required.
	fieldNames := [...]string{
		"schema", "receipt_id", "debate_id", "created_at", "question", "context_sha256", "status", "verdict",
		"confidence", "final_answer", "winner", "consensus", "agents", "rounds_planned", "rounds_used",
		"trickster_interventions", "convergence", "usage", "started_at", "ended_at", "duration_ms", "metadata",
		"content_hash", "signature",
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if top == nil {
		return fmt.Errorf("%w: not an object", ErrMalformed)
	}
	var missing []string
	for _, f := range fieldNames {
		if _, ok := top[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrMalformed, strings.Join(missing, ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireReceipt
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if w.Schema != Schema {
		return fmt.Errorf("%w: unsupported schema %q", ErrMalformed, w.Schema)
	}
	times := [3]time.Time{}
	for i, s := range [3]string{w.CreatedAt, w.StartedAt, w.EndedAt} {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMalformed, [3]string{"created_at", "started_at", "ended_at"}[i], err)
		}
		times[i] = t.UTC()
	}
	*r = Receipt{
		Schema:                 w.Schema,
		ReceiptID:              w.ReceiptID,
		DebateID:               w.DebateID,
		CreatedAt:              times[0],
		Question:               w.Question,
		ContextSHA256:          w.ContextSHA256,
		Status:                 w.Status,
		Verdict:                Verdict(w.Verdict),
		Confidence:             w.Confidence,
		FinalAnswer:            w.FinalAnswer,
		Winner:                 w.Winner,
		Consensus:              w.Consensus,
		Agents:                 w.Agents,
		RoundsPlanned:          w.RoundsPlanned,
		RoundsUsed:             w.RoundsUsed,
		TricksterInterventions: w.TricksterInterventions,
		Convergence:            w.Convergence,
		Usage:                  w.Usage,
		StartedAt:              times[1],
		EndedAt:                times[2],
		DurationMS:             w.DurationMS,
		Metadata:               w.Metadata,
		ContentHash:            w.ContentHash,
		Signature:              w.Signature,
	}
	return nil
}
