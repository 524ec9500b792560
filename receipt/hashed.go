package receipt

import (
	"slices"
	"time"
	"unicode/utf8"
)

// appendHashed appends the canonical form of the hashed receipt (the tree
// without content_hash and signature, as [Canonical] writes it) without
// building the tree: the keys of each object in their sorted (UTF-16, here
// byte) order, the values as [Canonical] writes them. It reports false,
// with b unspecified, for what the tree would report as an error (a
// timestamp outside years 0–9999, a NaN or infinite number) and for
// metadata keys that are not valid UTF-8; computeHash then takes the
// general path, which gives the error or the result.
func (r *Receipt) appendHashed(b []byte) ([]byte, bool) {
	ok := true
	num := func(b []byte, f float64) []byte {
		b, err := appendNumber(b, f)
		ok = ok && err == nil
		return b
	}
	tm := func(b []byte, t time.Time) []byte {
		u := t.UTC()
		if y := u.Year(); y < 0 || y > 9999 {
			ok = false
			return b
		}
		b = append(b, '"')
		return append(u.AppendFormat(b, TimeLayout), '"') // digits and "-T:.Z" only
	}
	c := &r.Consensus
	b = append(b, `{"agents":[`...)
	for i, a := range r.Agents {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"model":`...)
		b = appendString(b, a.Model)
		b = append(b, `,"name":`...)
		b = appendString(b, a.Name)
		b = append(b, `,"role":`...)
		b = appendString(b, a.Role)
		b = append(b, `,"stance":`...)
		b = appendString(b, a.Stance)
		b = append(b, `,"weight":`...)
		b = append(num(b, a.Weight), '}')
	}
	b = append(b, `],"confidence":`...)
	b = num(b, r.Confidence)
	b = append(b, `,"consensus":{"abstaining_agents":`...)
	b = appendStrings(b, c.AbstainingAgents)
	b = append(b, `,"dissenting_agents":`...)
	b = appendStrings(b, c.DissentingAgents)
	b = append(b, `,"dissents":[`...)
	for i, d := range c.Dissents {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"agent":`...)
		b = appendString(b, d.Agent)
		b = append(b, `,"choice":`...)
		b = appendString(b, d.Choice)
		b = append(b, `,"confidence":`...)
		b = num(b, d.Confidence)
		b = append(b, `,"reasons":`...)
		b = append(appendStrings(b, d.Reasons), '}')
	}
	b = append(b, `],"leader_share":`...)
	b = num(b, c.LeaderShare)
	b = append(b, `,"method":`...)
	b = appendString(b, c.Method)
	b = append(b, `,"reached":`...)
	if c.Reached {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"supporting_agents":`...)
	b = appendStrings(b, c.SupportingAgents)
	b = append(b, `,"threshold":`...)
	if c.Threshold != nil {
		b = num(b, *c.Threshold)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"context_sha256":`...)
	b = appendString(b, r.ContextSHA256)
	b = append(b, `,"convergence":{"detected":`...)
	if r.Convergence.Detected {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"final_similarity":`...)
	b = num(b, r.Convergence.FinalSimilarity)
	b = append(b, `},"created_at":`...)
	b = tm(b, r.CreatedAt)
	b = append(b, `,"debate_id":`...)
	b = appendString(b, r.DebateID)
	b = append(b, `,"duration_ms":`...)
	b = num(b, float64(r.DurationMS))
	b = append(b, `,"ended_at":`...)
	b = tm(b, r.EndedAt)
	b = append(b, `,"final_answer":`...)
	b = appendString(b, r.FinalAnswer)
	b = append(b, `,"metadata":{`...)
	if len(r.Metadata) > 0 {
		var kb [8]string
		keys := kb[:0]
		for k := range r.Metadata {
			if !utf8.ValidString(k) {
				return b, false // the general path replaces invalid bytes
			}
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = appendString(b, r.Metadata[k])
		}
	}
	b = append(b, `},"question":`...)
	b = appendString(b, r.Question)
	b = append(b, `,"receipt_id":`...)
	b = appendString(b, r.ReceiptID)
	b = append(b, `,"rounds_planned":`...)
	b = num(b, float64(r.RoundsPlanned))
	b = append(b, `,"rounds_used":`...)
	b = num(b, float64(r.RoundsUsed))
	b = append(b, `,"schema":`...)
	b = appendString(b, r.Schema)
	b = append(b, `,"started_at":`...)
	b = tm(b, r.StartedAt)
	b = append(b, `,"status":`...)
	b = appendString(b, r.Status)
	b = append(b, `,"trickster_interventions":`...)
	b = num(b, float64(r.TricksterInterventions))
	b = append(b, `,"usage":{"cost_usd":`...)
	b = num(b, r.Usage.CostUSD)
	b = append(b, `,"input_tokens":`...)
	b = num(b, float64(r.Usage.InputTokens))
	b = append(b, `,"output_tokens":`...)
	b = num(b, float64(r.Usage.OutputTokens))
	b = append(b, `,"total_tokens":`...)
	b = num(b, float64(r.Usage.TotalTokens))
	b = append(b, `},"verdict":`...)
	b = appendString(b, string(r.Verdict))
	b = append(b, `,"winner":`...)
	b = appendString(b, r.Winner)
	return append(b, '}'), ok
}

// hashedSize estimates the length of the hashed canonical form.
func (r *Receipt) hashedSize() int {
	n := 1024 + len(r.Question) + len(r.FinalAnswer) + len(r.DebateID) + len(r.Winner)
	for _, a := range r.Agents {
		n += 96 + len(a.Name) + len(a.Model) + len(a.Role) + len(a.Stance)
	}
	for _, d := range r.Consensus.Dissents {
		n += 64 + len(d.Agent) + len(d.Choice)
		for _, s := range d.Reasons {
			n += len(s) + 3
		}
	}
	for k, v := range r.Metadata {
		n += len(k) + len(v) + 6
	}
	return n
}
