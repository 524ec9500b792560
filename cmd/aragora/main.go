// Command aragora is the reference binary of the Aragora debate engine: it
// runs debates from the command line (aragora debate) and serves the HTTP
// API and WebSocket stream (aragora serve). The commands live in package
// cli; build your own binary with extra providers the same way
// (docs/cli.md#building-your-own-binary).
package main

import "github.com/aragora/aragora/cli"

// Version is the release version, without the leading "v". Release builds
// set it with -ldflags "-X main.Version=…" (see the Dockerfile).
var Version = cli.Version

// buildCommit is the source commit, set with -ldflags "-X
// main.buildCommit=…" where the build has no VCS information (a container
// build without .git); otherwise the commit comes from the build info.
var buildCommit string

func main() { cli.Main(cli.Options{Version: Version, Commit: buildCommit}) }
