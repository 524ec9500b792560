package agent

import "context"

// Funcs builds an agent from functions, as [Func] does from one: the agent
// [Funcs.Agent] returns has the optional capabilities whose functions are
// set, and no other (a [Streamer] when RespondStream is set, a [Critic]
// when Critique is, and so on). It is how [Wrap] builds its agents, and a
// quick way to write a rule-based agent:
//
//	a := agent.Funcs{Respond: answer, Vote: voteForTheFirst}.Agent() // an agent.Voter
type Funcs struct {
	// Respond is required.
	Respond       func(ctx context.Context, req Request) (Response, error)
	RespondStream func(ctx context.Context, req Request, onChunk func(chunk string)) (Response, error)
	Critique      func(ctx context.Context, req Request) (Critique, Usage, error)
	Vote          func(ctx context.Context, req Request) (Vote, Usage, error)
	Judge         func(ctx context.Context, req Request) (Judgement, Usage, error)
	// Unwrapped is what the agent's Unwrap() Agent method returns, for an
	// agent that decorates another; [InfoOf] follows it. May be nil.
	Unwrapped Agent
}

// Agent returns the agent made of f's functions.
func (f Funcs) Agent() Agent {
	b := &funcsAgent{f: f}
	s, c, v, j := streamM{b}, critiqueM{b}, voteM{b}, judgeM{b}
	var mask int
	for i, set := range []bool{f.RespondStream != nil, f.Critique != nil, f.Vote != nil, f.Judge != nil} {
		if set {
			mask |= 1 << i
		}
	}
	switch mask {
	case 0b0001:
		return struct {
			*funcsAgent
			streamM
		}{b, s}
	case 0b0010:
		return struct {
			*funcsAgent
			critiqueM
		}{b, c}
	case 0b0011:
		return struct {
			*funcsAgent
			streamM
			critiqueM
		}{b, s, c}
	case 0b0100:
		return struct {
			*funcsAgent
			voteM
		}{b, v}
	case 0b0101:
		return struct {
			*funcsAgent
			streamM
			voteM
		}{b, s, v}
	case 0b0110:
		return struct {
			*funcsAgent
			critiqueM
			voteM
		}{b, c, v}
	case 0b0111:
		return struct {
			*funcsAgent
			streamM
			critiqueM
			voteM
		}{b, s, c, v}
	case 0b1000:
		return struct {
			*funcsAgent
			judgeM
		}{b, j}
	case 0b1001:
		return struct {
			*funcsAgent
			streamM
			judgeM
		}{b, s, j}
	case 0b1010:
		return struct {
			*funcsAgent
			critiqueM
			judgeM
		}{b, c, j}
	case 0b1011:
		return struct {
			*funcsAgent
			streamM
			critiqueM
			judgeM
		}{b, s, c, j}
	case 0b1100:
		return struct {
			*funcsAgent
			voteM
			judgeM
		}{b, v, j}
	case 0b1101:
		return struct {
			*funcsAgent
			streamM
			voteM
			judgeM
		}{b, s, v, j}
	case 0b1110:
		return struct {
			*funcsAgent
			critiqueM
			voteM
			judgeM
		}{b, c, v, j}
	case 0b1111:
		return struct {
			*funcsAgent
			streamM
			critiqueM
			voteM
			judgeM
		}{b, s, c, v, j}
	}
	return b
}

// funcsAgent is the agent Funcs.Agent returns; the method holders below
// add the optional capabilities.
type funcsAgent struct{ f Funcs }

// Respond calls Funcs.Respond.
func (b *funcsAgent) Respond(ctx context.Context, req Request) (Response, error) {
	return b.f.Respond(ctx, req)
}

// Unwrap returns Funcs.Unwrapped.
func (b *funcsAgent) Unwrap() Agent { return b.f.Unwrapped }

type streamM struct{ b *funcsAgent }

// RespondStream calls Funcs.RespondStream; a nil onChunk discards chunks.
func (m streamM) RespondStream(ctx context.Context, req Request, onChunk func(string)) (Response, error) {
	if onChunk == nil {
		onChunk = func(string) {}
	}
	return m.b.f.RespondStream(ctx, req, onChunk)
}

type critiqueM struct{ b *funcsAgent }

// Critique calls Funcs.Critique.
func (m critiqueM) Critique(ctx context.Context, req Request) (Critique, Usage, error) {
	return m.b.f.Critique(ctx, req)
}

type voteM struct{ b *funcsAgent }

// Vote calls Funcs.Vote.
func (m voteM) Vote(ctx context.Context, req Request) (Vote, Usage, error) {
	return m.b.f.Vote(ctx, req)
}

type judgeM struct{ b *funcsAgent }

// Judge calls Funcs.Judge.
func (m judgeM) Judge(ctx context.Context, req Request) (Judgement, Usage, error) {
	return m.b.f.Judge(ctx, req)
}
