package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goSnippets returns the ```go blocks of a Markdown file that are whole
// programs (they start with "package main"), with their first line.
func goSnippets(t *testing.T, path string) map[int]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	var b strings.Builder
	start, in := 0, false
	for n, line := range strings.Split(string(data), "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, start = true, n+2
			b.Reset()
		case in && strings.TrimSpace(line) == "```":
			in = false
			if strings.HasPrefix(b.String(), "package main\n") {
				out[start] = b.String()
			}
		case in:
			b.WriteString(line + "\n")
		}
	}
	return out
}

// TestSnippetsCompile vets every whole Go program shown in README.md and
// docs/*.md against the current code, so a snippet cannot rot.
func TestSnippetsCompile(t *testing.T) {
	dir := root(t)
	files, err := filepath.Glob(filepath.Join(dir, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(dir, "README.md"))
	found := 0
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		for line, src := range goSnippets(t, f) {
			found++
			tmp := t.TempDir()
			main := filepath.Join(tmp, "main.go")
			if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "vet", main)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s:%d: the Go program does not vet:\n%s", rel, line, out)
			}
		}
	}
	if found == 0 {
		t.Error("no Go program found in README.md or docs/: the extraction is broken")
	}
}
