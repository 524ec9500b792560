package syncbuf_test

import (
	"fmt"
	"log/slog"

	"github.com/aragora/aragora/internal/syncbuf"
)

func Example() {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	log.Info("debate_end", "status", "consensus_reached")
	fmt.Print(logs.String())
	// Output: level=INFO msg=debate_end status=consensus_reached
}
