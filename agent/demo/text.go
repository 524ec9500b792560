package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HollowText is the proposal of every hollow agent: the fixed vague text of
// docs/debate.md#evidence-and-the-trickster, which scores 0.08 on evidence quality.
const HollowText = "Generally the first option is usually better. It depends on various factors, but in some cases it might work. Best practices suggest it could potentially have a significant impact."

// snippetRunes is the length of the question snippet in proposals.
const snippetRunes = 80

// snippet returns the first limit runes of s with whitespace collapsed, cut
// at a word boundary, followed by "…" when anything was cut. A single word
// longer than limit is cut inside the word.
func snippet(s string, limit int) string { return cut(collapseSpaces(s), limit) }

// cut is snippet of s with its whitespace already collapsed.
func cut(s string, limit int) string {
	if len(s) <= limit || runeCount(s) <= limit { // a rune takes a byte at least
		return s
	}
	runes := []rune(s)
	cut := string(runes[:limit])
	if runes[limit] != ' ' {
		if i := strings.LastIndexByte(cut, ' '); i > 0 {
			cut = cut[:i]
		}
	}
	return strings.TrimRight(cut, " ") + "…"
}

// questionSnippet is the snippet quoted by proposals.
func questionSnippet(q string) string {
	if s := snippet(q, snippetRunes); s != "" {
		return s
	}
	return "the question"
}

// template writes one proposal for the question snippet q, drawing its
// figures from r.
type template func(q string, r *rand.Rand) string

// between returns a uniform integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

func templatesOf(s Style) []template {
	switch s {
	case StyleSupportive:
		return []template{supportive1, supportive2, supportive3}
	case StyleCritical:
		return []template{critical1, critical2, critical3}
	case StyleContrarian:
		return []template{contrarian1, contrarian2, contrarian3}
	case StyleHollow:
		return []template{func(string, *rand.Rand) string { return HollowText }}
	}
	return []template{balanced1, balanced2, balanced3}
}

func supportive1(q string, r *rand.Rand) string {
	return fill("I recommend going ahead with \"%s\". According to the %d State of DevOps report [1], teams that adopted "+
		"a comparable change through a phased rollout reduced change-failure rates by %d%% and deployed %d× more often. "+
		"Start with one team for %d weeks, then expand in two further phases, because early wins build the evidence the "+
		"wider rollout needs. For example, a pilot group of %d engineers gives measurable results within a quarter at a "+
		"cost of about $%d,000.",
		q, between(r, 2022, 2024), between(r, 20, 45), between(r, 2, 4), between(r, 4, 8), between(r, 6, 15), between(r, 20, 90))
}

func supportive2(q string, r *rand.Rand) string {
	return fill("Yes: \"%s\" is worth doing, and the data supports it. A %d industry benchmark [1] measured a %d%% drop in "+
		"incident response time after a similar change, and according to a follow-up study [2] the payback period was %d "+
		"months. I propose a phased rollout: phase 1 covers %d%% of users, phase 2 half of them and phase 3 everyone, each "+
		"gated on error budgets. Therefore the risk stays bounded while the benefits compound.",
		q, between(r, 2022, 2024), between(r, 25, 60), between(r, 4, 14), between(r, 5, 15))
}

func supportive3(q string, r *rand.Rand) string {
	return fill("The strongest answer to \"%s\" is to endorse it and execute in phases. According to published case "+
		"studies [1], organisations that did this improved throughput by %d%% and cut operating costs by $%d,000 a year. "+
		"Specifically, run phase 1 for %d weeks with a dedicated owner, measure latency and adoption, and expand only "+
		"when the numbers hold. Since the downside is capped by the phasing, the expected value is clearly positive.",
		q, between(r, 15, 40), between(r, 40, 250), between(r, 3, 8))
}

func critical1(q string, r *rand.Rand) string {
	return fill("I am sceptical of \"%s\". The visible price is the smallest part of the cost: total cost of ownership "+
		"(TCO) typically runs 3–5× the initial estimate once integration, training and on-call time are counted. A team of %d "+
		"engineers spending %d%% of their time on upkeep costs roughly $%d,000 a year. The main risks are vendor "+
		"lock-in, a migration that overruns by %d weeks, and the loss of in-house expertise. Unless those costs are "+
		"budgeted explicitly, I would not proceed.",
		q, between(r, 3, 8), between(r, 15, 35), between(r, 150, 600), between(r, 6, 20))
}

func critical2(q string, r *rand.Rand) string {
	return fill("Before answering \"%s\", count the costs. In comparable projects the %d-year TCO came out at %d× the "+
		"budgeted figure, mostly because of hidden operational work. Downtime is a real risk: a single %d-hour outage at "+
		"$%d,000 per hour wipes out the projected savings. The proposal also assumes skills the team does not have. I "+
		"recommend rejecting it unless a costed risk register shows otherwise.",
		q, between(r, 3, 5), between(r, 3, 5), between(r, 2, 12), between(r, 10, 80))
}

func critical3(q string, r *rand.Rand) string {
	quoted := between(r, 100, 400)
	return fmt.Sprintf("\"%s\" looks cheaper than it is. Licences are about %d%% of the real cost; staff time, migrations "+
		"and support push the TCO to 3–5× the quoted price, i.e. %s rather than %s over three years. Security "+
		"and compliance reviews add %d weeks. Each of these risks compounds the others, so the downside is much larger "+
		"than the upside presented so far.",
		q, between(r, 20, 35), dollarsK(quoted*between(r, 3, 5)), dollarsK(quoted), between(r, 4, 12))
}

// fill returns fmt.Sprintf(tmpl, q, nums...) for a tmpl whose verbs are
// one %s, then %d or %% (TestFillMatchesSprintf), without boxing the numbers.
func fill(tmpl, q string, nums ...int) string {
	var b strings.Builder
	b.Grow(len(tmpl) + len(q) + 4*len(nums))
	var d [20]byte
	for {
		k := strings.IndexByte(tmpl, '%')
		if k < 0 || k+1 == len(tmpl) {
			break
		}
		b.WriteString(tmpl[:k])
		switch tmpl[k+1] {
		case 's':
			b.WriteString(q)
		case 'd':
			b.Write(strconv.AppendInt(d[:0], int64(nums[0]), 10))
			nums = nums[1:]
		default: // %%
			b.WriteByte('%')
		}
		tmpl = tmpl[k+2:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// dollarsK formats k thousand dollars with thousands separators: $1,250,000.
func dollarsK(k int) string {
	if k >= 1000 {
		return fmt.Sprintf("$%d,%03d,000", k/1000, k%1000)
	}
	return fmt.Sprintf("$%d,000", k)
}

func balanced1(q string, r *rand.Rand) string {
	first := between(r, 5, 15)
	return fill("On \"%s\", a hybrid approach is the safest path. Run a staged pilot of 90 days: days 1–30 on %d%% of "+
		"the workload, days 31–60 on %d%%, days 61–90 on half, with a go/no-go review at each stage. Keep the current "+
		"setup as a fallback throughout. Success criteria: latency within %d ms of today and cost no more than %d%% "+
		"higher. Because each stage is reversible, we learn cheaply and commit only on evidence.",
		q, first, first*2, between(r, 5, 50), between(r, 5, 20))
}

func balanced2(q string, r *rand.Rand) string {
	return fill("There are good arguments on both sides of \"%s\". I propose a hybrid: adopt the change where the benefit "+
		"is clearest, keep the existing approach elsewhere, and validate it with a staged pilot of 90 days. For example, "+
		"start with %d teams and %d%% of traffic, review the metrics at day 30 and day 60, and decide at day 90. This "+
		"balances the upside against the risks the critics raise.",
		q, between(r, 2, 4), between(r, 5, 20))
}

func balanced3(q string, r *rand.Rand) string {
	return fill("My answer to \"%s\" is a hybrid plan validated by a staged pilot of 90 days. We would run both options "+
		"side by side on %d%% of cases, compare cost per request and error rates weekly, and budget $%d,000 for the trial. If the new "+
		"option is at least %d%% better by day 90, expand it; otherwise roll back with little lost. Thus the decision "+
		"rests on measured results rather than opinion.",
		q, between(r, 10, 30), between(r, 10, 60), between(r, 10, 25))
}

func contrarian1(q string, r *rand.Rand) string {
	return fill("I will argue the opposite on \"%s\": the status quo is the better choice. The case for change rests on "+
		"optimistic assumptions that nobody has tested, and in roughly %d%% of similar decisions the first consensus was "+
		"later reversed. If everyone agrees this early, that is a warning sign, not a result: premature agreement hides "+
		"the risks we have not discussed. Before converging, someone should make the strongest case against, and that is "+
		"what I am doing here.",
		q, between(r, 20, 40))
}

func contrarian2(q string, r *rand.Rand) string {
	return fill("Everyone seems to lean one way on \"%s\", so let me take the other side. The opposite choice avoids the "+
		"switching costs and keeps options open, and in practice about %d%% of similar initiatives are reversed within %d "+
		"years. Agreement reached in the first round is often agreement on framing rather than on evidence. I urge the "+
		"group not to converge yet: test the contrary hypothesis first.",
		q, between(r, 15, 35), between(r, 2, 4))
}

func contrarian3(q string, r *rand.Rand) string {
	return fill("Consider the reverse of the popular answer to \"%s\". What if doing nothing, or doing the opposite, is "+
		"right? The arguments so far share the same blind spots, which is exactly when a debate converges too soon. I "+
		"estimate a %d%% chance that the favoured option fails on a criterion nobody has named yet. Let us not mistake "+
		"quick agreement for a correct one.",
		q, between(r, 20, 45))
}

// critiqueText holds the phrases of one style's critiques.
type critiqueText struct {
	issues      []string
	suggestions []string
	verdict     string // completes "<critic> reviewed <target>'s proposal: "
	// quoted holds the phrases as critiqueReply.json writes them: each
	// issue and suggestion as a comma and a JSON string, and
	// "'s proposal: " + verdict escaped and closed by its quote and the
	// object's brace; ascii reports that they are all ASCII.
	quoted struct {
		issues, suggestions []string
		verdict             string
		ascii               bool
	}
}

// maxPhrases bounds the issues and the suggestions of a critiqueText
// (TestCritiqueTextsFit).
const maxPhrases = 8

// critiqueTexts holds critiqueTextOf of every style, in the order of
// Styles, quoted once.
var critiqueTexts = func() []critiqueText {
	var ts []critiqueText
	for _, s := range Styles() {
		t := critiqueTextOf(s)
		for _, p := range t.issues {
			t.quoted.issues = append(t.quoted.issues, string(appendString([]byte(","), p)))
		}
		for _, p := range t.suggestions {
			t.quoted.suggestions = append(t.quoted.suggestions, string(appendString([]byte(","), p)))
		}
		t.quoted.verdict = string(appendEscaped([]byte("'s proposal: "), t.verdict)) + `"}`
		all := strings.Join(t.quoted.issues, "") + strings.Join(t.quoted.suggestions, "") + t.quoted.verdict
		t.quoted.ascii = runeCount(all) == len(all)
		ts = append(ts, t)
	}
	return ts
}()

// critiqueTextFor returns the phrases of style s (balanced for an invalid
// style).
func critiqueTextFor(s Style) *critiqueText {
	switch s {
	case StyleSupportive:
		return &critiqueTexts[0]
	case StyleCritical:
		return &critiqueTexts[1]
	case StyleContrarian:
		return &critiqueTexts[3]
	case StyleHollow:
		return &critiqueTexts[4]
	}
	return &critiqueTexts[2]
}

func critiqueTextOf(s Style) critiqueText {
	switch s {
	case StyleSupportive:
		return critiqueText{
			issues: []string{"The rollout timeline could be more explicit.", "A source for the main figure would strengthen the case.",
				"The success metrics are not stated.", "Ownership of each phase is unclear."},
			suggestions: []string{"Add a timeline with milestones.", "Cite the data behind the main claim.",
				"Name an owner for each phase.", "Define success metrics up front."},
			verdict: "solid overall, with minor gaps.",
		}
	case StyleCritical:
		return critiqueText{
			issues: []string{"The total cost of ownership is not estimated.", "Migration and integration risks are ignored.",
				"There is no rollback plan.", "Staffing and training costs are missing.", "Vendor lock-in is not addressed.",
				"The figures are not backed by evidence.", "Security and compliance reviews are not budgeted."},
			suggestions: []string{"Produce a three-year TCO estimate.", "Add a costed risk register.",
				"Define a rollback plan with a clear trigger.", "Budget for training and on-call time.",
				"Compare at least two alternatives on cost."},
			verdict: "the costs and risks are understated.",
		}
	case StyleContrarian:
		return critiqueText{
			issues: []string{"The proposal assumes the change is needed without testing the opposite view.",
				"The group may be converging prematurely.", "Alternatives were dismissed without evidence.",
				"The framing of the question is taken for granted.", "Second-order effects are ignored."},
			suggestions: []string{"Argue the strongest case against the proposal.",
				"Delay convergence until the opposite view is tested.", "List what would prove the proposal wrong.",
				"Treat doing nothing as a real option."},
			verdict: "it follows the crowd without testing the opposite.",
		}
	case StyleHollow:
		return critiqueText{
			issues:      []string{"Some aspects could potentially be improved."},
			suggestions: []string{"Consider best practices."},
			verdict:     "it could potentially be better in some cases.",
		}
	}
	return critiqueText{
		issues: []string{"The proposal does not say how success will be measured.",
			"Trade-offs against the alternative are only partly discussed.", "The plan lacks a staged validation step.",
			"Assumptions about load and cost are implicit."},
		suggestions: []string{"Add a pilot with go/no-go criteria.", "State the assumptions explicitly.",
			"Compare the options on cost and risk.", "Keep a fallback during the transition."},
		verdict: "reasonable, but the trade-offs need work.",
	}
}

// voteReason returns the reasoning of a vote or judgement for choice.
func voteReason(s Style, choice string, leader bool) string {
	return choice + voteReasonTail(s, leader)
}

// voteReasonTail is what follows the choice in voteReason.
func voteReasonTail(s Style, leader bool) string {
	switch {
	case leader:
		return " led the previous round, and its proposal still balances benefits and risks best."
	case s == StyleSupportive:
		return "'s proposal is the most actionable and the best supported."
	case s == StyleCritical:
		return "'s proposal leaves the fewest risks unaddressed, though none is free of cost."
	case s == StyleContrarian:
		return "'s proposal departs most from the emerging consensus."
	case s == StyleHollow:
		return "'s proposal generally seems good in some cases."
	}
	return "'s proposal best balances benefits and risks."
}

// firstSentence returns the text up to its first sentence end, cut to limit
// runes.
func firstSentence(text string, limit int) string {
	if end, ok := plainText(text, true); ok {
		return cut(text[:end], limit)
	}
	text = collapseSpaces(text)
	for i := 0; i < len(text); i++ {
		if (text[i] == '.' || text[i] == '!' || text[i] == '?') && (i+1 == len(text) || text[i+1] == ' ') {
			text = text[:i+1]
			break
		}
	}
	return cut(text, limit)
}

// collapseSpaces is strings.Join(strings.Fields(s), " "): s itself when its
// words are already separated by single ASCII spaces, without leading or
// trailing space.
func collapseSpaces(s string) string {
	if _, ok := plainText(s, false); ok {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// plainText reads text as collapseSpaces does, up to the end of its first
// sentence when sentence is set (as firstSentence finds it in the
// collapsed text: a '.', '!' or '?' followed by ASCII whitespace, which
// becomes the space that ends it, or by the end of text). It returns the
// end of what it read, and whether that needs no collapsing: its words are
// separated by single ASCII spaces, without leading space, and without
// trailing space at the end of text.
func plainText(text string, sentence bool) (end int, ok bool) {
	prevSpace := true // a leading space is not kept
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c > ' ' && c < utf8.RuneSelf:
			if c <= '?' && (c == '.' || c == '!' || c == '?') && sentence && (i+1 == len(text) || asciiSpace(text[i+1])) {
				return i + 1, true
			}
			prevSpace = false
			i++
		case c == ' ':
			if prevSpace {
				return i, false
			}
			prevSpace = true
			i++
		case c < utf8.RuneSelf:
			return i, false // other whitespace or a control byte
		default:
			r, size := utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				return i, false
			}
			prevSpace = false
			i += size
		}
	}
	return len(text), !prevSpace || text == "" // a trailing space is not kept
}

// asciiSpace reports whether c is an ASCII space as unicode.IsSpace has it.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
