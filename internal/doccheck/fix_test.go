package doccheck

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var fixCitations = flag.Bool("fix-citations", false,
	"rewrite citations of the specifications into citations of docs/ (go test ./internal/doccheck -run TestNoSpecCitations -fix-citations)")

// citeTables map a specification's section to the docs page and anchor
// that say the same; a section missing from a table takes its parent's
// entry, and "" is the whole document's.
var citeTables = map[string]map[string]string{
	"API": {
		"": "docs/http-api.md", "1": "docs/http-api.md#listeners", "2": "docs/http-api.md#requests",
		"2.2": "docs/http-api.md#authentication", "2.3": "docs/http-api.md#roles", "2.4": "docs/http-api.md#errors",
		"2.5": "docs/http-api.md#identifiers-and-time", "2.6": "docs/http-api.md#paging",
		"2.7": "docs/http-api.md#correlation-ids", "2.8": "docs/http-api.md#idempotency", "2.9": "docs/http-api.md#rate-limits",
		"2.10": "docs/http-api.md#cors", "3": "docs/http-api.md#health-and-metrics", "4": "docs/http-api.md#debates",
		"4.1": "docs/http-api.md#create-a-debate", "4.2": "docs/http-api.md#the-debate-object",
		"4.3": "docs/http-api.md#list-debates", "4.4": "docs/http-api.md#events-polling-and-replay",
		"4.5": "docs/http-api.md#receipt", "4.6": "docs/http-api.md#cancel", "5": "docs/agents.md#built-in-agents",
		"5.1": "docs/http-api.md#agents", "5.2": "docs/http-api.md#agents", "5.3": "docs/http-api.md#diagnostics",
		"5.4": "docs/http-api.md#diagnostics", "5.5": "docs/http-api.md#diagnostics", "6": "docs/http-api.md#accounts",
		"7": "docs/http-api.md#operational-views", "8": "docs/http-api.md#administration",
		"8.3": "docs/operations.md#stop-drain-and-restart", "8.4": "docs/operations.md#rotate-keys-and-respond-to-a-compromise",
		"9": "docs/nomic.md", "10": "docs/webhooks.md", "11": "docs/websocket.md", "11.1": "docs/websocket.md#connecting",
		"11.2": "docs/websocket.md#messages", "11.3": "docs/events.md", "11.4": "docs/websocket.md#resume",
		"11.5": "docs/websocket.md#close-codes", "12": "docs/configuration.md", "13": "docs/operations.md#logs",
		"14": "docs/operations.md#metrics", "15": "docs/operations.md#metrics", "16": "docs/operations.md#stop-drain-and-restart",
		"17": "docs/cli.md", "18": "docs/operations.md",
	},
	"DEBATE": {
		"": "docs/debate.md", "0": "docs/debate.md#conventions", "1": "docs/debate.md#configuration", "2": "docs/debate.md#flow",
		"2.2": "docs/debate.md#quorum-and-timeouts", "2.3": "docs/debate.md#topologies",
		"3": "docs/agents.md#phases-and-reply-formats", "4": "docs/debate.md#consensus", "5": "docs/debate.md#convergence",
		"6": "docs/debate.md#evidence-and-the-trickster", "7": "docs/debate.md#budgets",
		"8": "docs/debate.md#result-status-and-verdict", "9": "docs/events.md", "10": "docs/debate.md#persistence-and-resume",
		"11": "docs/debate.md#cancellation-and-deadlines", "12": "docs/agents.md#middleware", "13": "docs/debate.md#demo-agents",
		"14": "docs/debate.md#elo-ratings", "15": "docs/receipts.md",
	},
	"CONVENTIONS": {"": "docs/ARCHITECTURE.md"},
	"RUNBOOK":     {"": "docs/operations.md"},
}

// citeTarget returns the docs page of section sec of spec.
func citeTarget(spec, sec string) string {
	table := citeTables[spec]
	for {
		if t, ok := table[sec]; ok {
			return t
		}
		i := strings.LastIndexByte(sec, '.')
		if i < 0 {
			return table[""]
		}
		sec = sec[:i]
	}
}

// citation matches a specification and its sections: "<SPEC>.md", "<SPEC>.md
// §6", "<SPEC>.md §6, §8.4 and §8.5", "<SPEC>.md §18 note 6", a comment line
// break between the name and its first section included.
var citation = regexp.MustCompile(`(?:spec/)?\b(` + strings.Join([]string{"API", "DEBATE", "CONVENTIONS", "RUNBOOK"}, "|") +
	`)\.md\b((?:([ \t]|\n[ \t]*(?://|--|#)[ \t]*)§\s?\d+(?:\.\d+)*(?:[ \t]+note[ \t]+\d+)?(?:(?:,[ \t]*|[ \t]+and[ \t]+)§\s?\d+(?:\.\d+)*)*)?)`)

// strayPunct is punctuation a rewrite left at the start of a comment line,
// after a citation that ended the line before.
var strayPunct = regexp.MustCompile(`(docs/[A-Za-z-]+\.md(?:#[a-z0-9-]+)?)\n([ \t]*(?://|--|#)[ \t]*)([).,:;]+)[ \t]?`)

var section = regexp.MustCompile(`§\s?(\d+(?:\.\d+)*)`)

// fixText rewrites every citation of text. A citation whose first section
// was on the next comment line keeps that line break.
func fixText(text string) string {
	text = citation.ReplaceAllStringFunc(text, func(m string) string {
		sub := citation.FindStringSubmatch(m)
		var out []string
		secs := section.FindAllStringSubmatch(sub[2], -1)
		if len(secs) == 0 {
			secs = [][]string{{"", ""}}
		}
		for _, s := range secs {
			t := citeTarget(sub[1], strings.TrimSuffix(s[1], "."))
			if !contains(out, t) {
				out = append(out, t)
			}
		}
		joined := strings.Join(out, ", ")
		if sep := sub[3]; strings.HasPrefix(sep, "\n") {
			return joined + sep
		}
		return joined
	})
	return strayPunct.ReplaceAllString(text, "$1$3\n$2")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fixFiles rewrites the citations of the repository's files (not docs/).
func fixFiles(t *testing.T, dir string) {
	t.Helper()
	for _, rel := range repoFiles(t, dir) {
		if historyDocs[rel] || strings.HasPrefix(rel, "docs/") || strings.HasPrefix(rel, "internal/doccheck/") {
			continue
		}
		path := filepath.Join(dir, rel)
		data, err := os.ReadFile(path)
		if err != nil || !citation.Match(data) {
			continue
		}
		if err := os.WriteFile(path, []byte(fixText(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the citations of %s: review the diff", rel)
	}
}

func TestFixText(t *testing.T) {
	api, deb := "API"+".md", "DEBATE"+".md"
	for in, want := range map[string]string{
		"(" + api + " §6, §8.4 and §8.5)": "(docs/http-api.md#accounts, docs/operations.md#rotate-keys-and-respond-to-a-compromise, docs/http-api.md#administration)",
		"of " + deb + " §13.":             "of docs/debate.md#demo-agents.",
		"(" + deb + "\n// §3.4): Say":     "(docs/agents.md#phases-and-reply-formats):\n// Say",
		"(" + api + " §18 note 6).":       "(docs/operations.md).",
		"the " + api + " contract":        "the docs/http-api.md contract",
		"(" + api + " §8.3, §16)":         "(docs/operations.md#stop-drain-and-restart)",
		"spec/RUNBOOK" + ".md: Quick":     "docs/operations.md: Quick",
	} {
		if got := fixText(in); got != want {
			t.Errorf("fixText(%q) = %q, want %q", in, got, want)
		}
	}
}
