package wordstream

import (
	"context"
	"errors"
	"testing"

	"github.com/aragora/aragora/agent"
)

func TestRespondStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var got []string
	_, err := Respond(ctx, agent.Request{}, func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "one two three"}, nil
	}, func(c string) {
		got = append(got, c)
		cancel()
	})
	if !errors.Is(err, context.Canceled) || len(got) != 1 {
		t.Errorf("Respond = %v after %q; want context.Canceled after the first chunk", err, got)
	}
}
