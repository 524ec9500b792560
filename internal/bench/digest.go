package bench

import (
	"hash/maphash"
	"math"

	"github.com/aragora/aragora/agent"
)

// digestSeed seeds the request digests of every provider.
var digestSeed = maphash.MakeSeed()

// digest is a 64-bit digest of everything in req that an answer may depend
// on: every field but DebateID, which differs between the scenarios'
// otherwise identical debates and which the demo agents do not read.
// Strings and lists are written with their lengths, so that no two
// requests write the same bytes.
func digest(req *agent.Request) uint64 {
	var h maphash.Hash
	h.SetSeed(digestSeed)
	str := func(s string) {
		num(&h, uint64(len(s)))
		h.WriteString(s)
	}
	strs := func(ss []string) {
		num(&h, uint64(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	str(req.Participant)
	str(string(req.Phase))
	num(&h, uint64(req.Round))
	num(&h, uint64(req.Rounds))
	str(req.System)
	str(req.Prompt)
	num(&h, uint64(req.MaxTokens))
	num(&h, math.Float64bits(req.Temperature))
	str(req.Question)
	num(&h, uint64(len(req.Proposals)))
	for _, p := range req.Proposals {
		str(p.Agent)
		str(p.Text)
	}
	str(req.Own)
	str(req.Target)
	num(&h, uint64(len(req.Critiques)))
	for _, c := range req.Critiques {
		str(c.Critic)
		str(c.Target)
		strs(c.Issues)
		strs(c.Suggestions)
		num(&h, math.Float64bits(c.Severity))
		str(c.Reasoning)
	}
	strs(req.Participants)
	str(req.PreviousLeader)
	num(&h, uint64(req.AgreementIntensity))
	str(string(req.Stance))
	var flags uint64
	if req.ForbidSelfVote {
		flags |= 1
	}
	if req.Final {
		flags |= 2
	}
	if req.Schema != nil {
		flags |= 4
		str(req.Schema.Name)
		str(req.Schema.Description)
		str(string(req.Schema.JSON))
	}
	num(&h, flags)
	return h.Sum64()
}

func num(h *maphash.Hash, n uint64) {
	var b [8]byte
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	h.Write(b[:])
}
