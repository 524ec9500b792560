package agent

// Info names the provider and the model behind an agent.
type Info struct {
	// Provider names the service that answers ("anthropic", "openrouter",
	// "demo", or a name of your own); "" when none applies.
	Provider string
	// Model names the model, as the provider spells it.
	Model string
}

// Describer is an optional capability: an agent that names its provider and
// model. The call statistics ([Stats], hence GET /api/agents/status), the
// debate's receipts (a participant without a Model of its own) and the
// agent registry read it with [InfoOf], which looks through middleware, so
// a custom agent shows its model there like a built-in one.
type Describer interface {
	Agent
	Describe() Info
}

// maxUnwrap bounds the Unwrap chain InfoOf follows.
const maxUnwrap = 64

// InfoOf returns what a says of its provider and model: a's own Describe
// when it is a [Describer], else that of the agent it wraps, following
// Unwrap() Agent methods (which every middleware written with [Wrap] has).
// ok is false when no agent of the chain describes itself.
func InfoOf(a Agent) (info Info, ok bool) {
	d, ok := find[Describer](a)
	if !ok {
		return Info{}, false
	}
	return d.Describe(), true
}

// find returns the first agent of a's Unwrap chain (a itself first) that
// implements T.
func find[T any](a Agent) (T, bool) {
	var zero T
	for range maxUnwrap {
		if a == nil {
			return zero, false
		}
		if t, ok := a.(T); ok {
			return t, true
		}
		u, ok := a.(interface{ Unwrap() Agent })
		if !ok {
			return zero, false
		}
		a = u.Unwrap()
	}
	return zero, false
}
