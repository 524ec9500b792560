package doccheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// specs are the names of the internal specifications the project was
// built from. They do not ship with the repository, so nothing in it may
// cite them: comments, help texts, tests and documents cite docs/ instead.
var specs = regexp.MustCompile(`\b(` + strings.Join([]string{"API", "DEBATE", "CONVENTIONS", "RUNBOOK"}, "|") + `)\.md\b`)

// historyDocs may name the specifications because they describe the
// project's own history (none today); paths are relative to the root.
var historyDocs = map[string]bool{}

// TestNoSpecCitations fails when a file of the repository cites a
// specification that does not ship with it. Replace the citation by the
// docs/ page that says the same (docs/http-api.md#errors, …); with
// -fix-citations the test rewrites them first, mechanically, by citeTables.
func TestNoSpecCitations(t *testing.T) {
	dir := root(t)
	if *fixCitations {
		fixFiles(t, dir)
	}
	for _, rel := range repoFiles(t, dir) {
		if historyDocs[rel] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil || bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			continue // gone since listed, or binary
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if m := specs.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d cites %s, which does not ship with the repository: cite the docs/ page instead", rel, n, m)
			}
		}
	}
}

// repoFiles lists the repository's files, relative to dir: those git
// tracks plus the untracked ones it does not ignore, or, without git, every
// file outside hidden directories.
func repoFiles(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() && rel != "." && strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
