package enginebench

import (
	"hash/maphash"
	"math"
	"math/bits"

	"github.com/aragora/aragora/agent"
)

// digestSeed seeds the request digests of every provider.
var digestSeed = maphash.MakeSeed()

// digest is a 64-bit digest of everything in req that an answer may depend
// on: every field but DebateID, which differs between the scenarios'
// otherwise identical debates and which the demo agents do not read. Each
// string is written as its length and its own 64-bit hash (one pass over
// its bytes), lists with their lengths, so that no two requests write the
// same words; each word is folded into the digest as it is written.
//
// It keeps its state in one word, not in a buffer, and calls nothing but
// maphash.String, so that its frames are small: it runs on the debate's
// goroutine (RespondAsync), and a kilobyte of frame there grew every
// waiting debate's stack from 4 to 8 KiB, which a remote provider's
// client would not do (bench/README.md).
func digest(req *agent.Request) uint64 {
	d := digester(digestKey)
	d = d.str(req.Participant)
	d = d.str(string(req.Phase))
	d = d.num(uint64(req.Round))
	d = d.num(uint64(req.Rounds))
	d = d.str(req.System)
	d = d.str(req.Prompt)
	d = d.num(uint64(req.MaxTokens))
	d = d.num(math.Float64bits(req.Temperature))
	d = d.str(req.Question)
	d = d.num(uint64(len(req.Proposals)))
	for i := range req.Proposals {
		p := &req.Proposals[i]
		d = d.str(p.Agent).str(p.Text)
	}
	d = d.str(req.Own)
	d = d.str(req.Target)
	d = d.num(uint64(len(req.Critiques)))
	for i := range req.Critiques {
		c := &req.Critiques[i]
		d = d.str(c.Critic).str(c.Target).strs(c.Issues).strs(c.Suggestions)
		d = d.num(math.Float64bits(c.Severity)).str(c.Reasoning)
	}
	d = d.strs(req.Participants)
	d = d.str(req.PreviousLeader)
	d = d.num(uint64(req.AgreementIntensity))
	d = d.str(string(req.Stance))
	var flags uint64
	if req.ForbidSelfVote {
		flags |= 1
	}
	if req.Final {
		flags |= 2
	}
	if req.Schema != nil {
		flags |= 4
		d = d.str(req.Schema.Name).str(req.Schema.Description).str(string(req.Schema.JSON))
	}
	return uint64(d.num(flags))
}

// digester is a digest being written: each word is folded in with a
// 128-bit multiply of the digest and the word, each mixed with its own
// constant, whose halves are xored (as wyhash mixes its words).
type digester uint64

// The mixing constants (odd, with their bits evenly spread).
const (
	digestKey  = 0xa0761d6478bd642f
	digestMixA = 0xe7037ed1a0b428db
	digestMixB = 0x8ebc6af09c88c6e3
)

func (d digester) num(n uint64) digester {
	hi, lo := bits.Mul64(uint64(d)^digestMixA, n^digestMixB)
	return digester(hi ^ lo)
}

// str writes s as its length and its hash.
func (d digester) str(s string) digester {
	return d.num(uint64(len(s))).num(maphash.String(digestSeed, s))
}

func (d digester) strs(ss []string) digester {
	d = d.num(uint64(len(ss)))
	for _, s := range ss {
		d = d.str(s)
	}
	return d
}
