// Package wordstream delivers a reply made at once as a stream of word
// chunks, for the agents that answer whole but stream like a provider
// (agenttest.Streaming, the demo agent).
package wordstream

import (
	"context"

	"github.com/aragora/aragora/agent"
)

// Respond calls respond and then delivers its reply to onChunk (when not
// nil) in word chunks (Chunks), whose concatenation is Response.Text. A
// failed call delivers no chunk. If ctx ends between chunks, Respond
// returns ctx.Err().
func Respond(ctx context.Context, req agent.Request, respond func(context.Context, agent.Request) (agent.Response, error),
	onChunk func(string)) (agent.Response, error) {
	resp, err := respond(ctx, req)
	if err != nil {
		return agent.Response{}, err
	}
	for _, c := range Chunks(resp.Text) {
		if err := ctx.Err(); err != nil {
			return agent.Response{}, err
		}
		if onChunk != nil {
			onChunk(c)
		}
	}
	return resp, nil
}

// Chunks splits text into chunks that each hold one word and the
// whitespace that follows it (leading whitespace joins the first chunk).
// Concatenating the chunks gives text back; an empty text gives no chunk.
func Chunks(text string) []string {
	var chunks []string
	start, inSpace, word := 0, false, false
	for i, c := range text {
		space := c == ' ' || c == '\n' || c == '\t' || c == '\r'
		if inSpace && !space && word {
			chunks = append(chunks, text[start:i])
			start = i
		}
		if !space {
			word = true
		}
		inSpace = space
	}
	if start < len(text) {
		chunks = append(chunks, text[start:])
	}
	return chunks
}
