// Command custombinary is the aragora command line with one more agent
// provider, Acme (examples/provider): the whole main of your own aragora
// binary. Every verb, flag, help text and exit code is the prebuilt
// binary's; `debate --agents acme,...`, `serve` and the agent listings now
// also know acme and acme:<model> (docs/cli.md#building-your-own-binary).
package main

import (
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/cli"
	"github.com/aragora/aragora/examples/provider"
)

func main() {
	registry.Register(provider.Provider()) // before the CLI runs: every command sees it
	cli.Main(cli.Options{})
}
