package wire

import "testing"

func TestValidBaseURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		"https://api.anthropic.com": true, "http://localhost:11434/v1": true,
		"": false, "api.openai.com": false, "ftp://x": false, "http://": false, "://bad": false,
	} {
		if got := ValidBaseURL(raw); got != want {
			t.Errorf("ValidBaseURL(%q) = %v, want %v", raw, got, want)
		}
	}
}
