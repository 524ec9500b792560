package enginebench

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"sync"

	"github.com/aragora/aragora/agent"
)

// digestSeed seeds the request digests of every provider.
var digestSeed = maphash.MakeSeed()

// digest is a 64-bit digest of everything in req that an answer may depend
// on: every field but DebateID, which differs between the scenarios'
// otherwise identical debates and which the demo agents do not read. Each
// string is written as its length and its own 64-bit hash (one pass over
// its bytes), and the words are hashed together once: lists are written
// with their lengths, so that no two requests write the same words.
//
// The words go to a pooled buffer, not to one on the stack: digest runs
// on the debate's goroutine (RespondAsync), and a kilobyte of frame there
// grew every waiting debate's stack from 4 to 8 KiB, which a remote
// provider's client would not do (bench/README.md).
func digest(req *agent.Request) uint64 {
	bp := wordsPool.Get().(*[]byte)
	b := digestWords((*bp)[:0], req)
	sum := maphash.Bytes(digestSeed, b)
	*bp = b[:0]
	wordsPool.Put(bp)
	return sum
}

var wordsPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// digestWords appends the words digest hashes.
func digestWords(b []byte, req *agent.Request) []byte {
	b = str(b, req.Participant)
	b = str(b, string(req.Phase))
	b = num(b, uint64(req.Round))
	b = num(b, uint64(req.Rounds))
	b = str(b, req.System)
	b = str(b, req.Prompt)
	b = num(b, uint64(req.MaxTokens))
	b = num(b, math.Float64bits(req.Temperature))
	b = str(b, req.Question)
	b = num(b, uint64(len(req.Proposals)))
	for _, p := range req.Proposals {
		b = str(b, p.Agent)
		b = str(b, p.Text)
	}
	b = str(b, req.Own)
	b = str(b, req.Target)
	b = num(b, uint64(len(req.Critiques)))
	for _, c := range req.Critiques {
		b = str(b, c.Critic)
		b = str(b, c.Target)
		b = strs(b, c.Issues)
		b = strs(b, c.Suggestions)
		b = num(b, math.Float64bits(c.Severity))
		b = str(b, c.Reasoning)
	}
	b = strs(b, req.Participants)
	b = str(b, req.PreviousLeader)
	b = num(b, uint64(req.AgreementIntensity))
	b = str(b, string(req.Stance))
	var flags uint64
	if req.ForbidSelfVote {
		flags |= 1
	}
	if req.Final {
		flags |= 2
	}
	if req.Schema != nil {
		flags |= 4
		b = str(b, req.Schema.Name)
		b = str(b, req.Schema.Description)
		b = str(b, string(req.Schema.JSON))
	}
	return num(b, flags)
}

func num(b []byte, n uint64) []byte { return binary.LittleEndian.AppendUint64(b, n) }

// str writes s as its length and its hash.
func str(b []byte, s string) []byte {
	return num(num(b, uint64(len(s))), maphash.String(digestSeed, s))
}

func strs(b []byte, ss []string) []byte {
	b = num(b, uint64(len(ss)))
	for _, s := range ss {
		b = str(b, s)
	}
	return b
}
