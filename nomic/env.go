package nomic

import "strings"

// scrubbedPrefixes and scrubbedSuffixes name the variables generated code
// never sees (docs/nomic.md#isolation): the project's own settings and
// anything that looks like a credential or an endpoint.
var (
	scrubbedPrefixes = []string{"ARAGORA_", "NOMIC_", "SUPABASE_", "SENTRY_"}
	scrubbedSuffixes = []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_DSN", "_URL"}
)

// Scrubbed reports whether the environment variable name is withheld
// from the verify commands.
func Scrubbed(name string) bool {
	u := strings.ToUpper(name)
	for _, p := range scrubbedPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	for _, s := range scrubbedSuffixes {
		if strings.HasSuffix(u, s) {
			return true
		}
	}
	return false
}

// ScrubEnv returns environ ("NAME=value" entries) without the scrubbed
// variables.
func ScrubEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !Scrubbed(name) {
			out = append(out, kv)
		}
	}
	return out
}
