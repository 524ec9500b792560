package nomic

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Snapshot is the context phase's bounded view of the repository at root:
// its file tree, README, recent git log, open TODOs and the last cycle's
// outcome, within about tokens tokens (4 characters each).
func Snapshot(ctx context.Context, root string, last *Outcome, tokens int) (string, error) {
	budget := tokens * 4
	var b strings.Builder
	add := func(title, body string) {
		body = strings.TrimSpace(body)
		if body == "" || b.Len() >= budget {
			return
		}
		section := fmt.Sprintf("## %s\n\n%s\n\n", title, body)
		if room := budget - b.Len(); len(section) > room {
			section = section[:room] + "\n…\n"
		}
		b.WriteString(section)
	}
	files, err := git(ctx, root, "ls-files")
	if err != nil {
		return "", err
	}
	list := strings.Split(strings.TrimSpace(files), "\n")
	tree := list
	if len(tree) > 200 {
		tree = append(tree[:200:200], fmt.Sprintf("… and %d more files", len(list)-200))
	}
	if last != nil {
		add("Last cycle", fmt.Sprintf("Cycle %d (%s): %s, committed %t. %s\nImprovement: %s", last.Number, last.CycleID, last.Outcome, last.Committed, last.Reason, firstLines(last.Improvement, 3)))
	}
	add("Files", strings.Join(tree, "\n"))
	for _, name := range []string{"README.md", "README", "README.rst", "README.txt"} {
		if data, err := os.ReadFile(filepath.Join(root, name)); err == nil {
			add(name, truncate(string(data), 4000))
			break
		}
	}
	if log, err := git(ctx, root, "log", "-n", "15", "--format=%h %s"); err == nil {
		add("Recent commits", log)
	}
	add("Open TODOs", todos(root, list, 30))
	return b.String(), nil
}

// todos returns up to max "path:line: text" lines with TODO or FIXME.
func todos(root string, files []string, max int) string {
	var out []string
	for _, f := range files {
		if len(out) >= max {
			break
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil || len(data) > 512<<10 || bytes.IndexByte(data, 0) >= 0 {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan() && len(out) < max; n++ {
			if t := sc.Text(); strings.Contains(t, "TODO") || strings.Contains(t, "FIXME") {
				out = append(out, fmt.Sprintf("%s:%d: %s", f, n, strings.TrimSpace(t)))
			}
		}
	}
	return strings.Join(out, "\n")
}
