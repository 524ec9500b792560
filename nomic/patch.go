package nomic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Change is an implementer's reply parsed (docs/nomic.md#reply-format):
// either a unified diff or whole-file replacements and deletions.
type Change struct {
	Diff  string       `json:"diff,omitempty"`
	Files []FileChange `json:"files,omitempty"`
}

// FileChange replaces a file's content, or deletes it.
type FileChange struct {
	Path    string `json:"path"`
	Delete  bool   `json:"delete,omitempty"`
	Content string `json:"content,omitempty"`
}

// ErrBadChange wraps every reason a reply or its paths are refused.
var ErrBadChange = errors.New("nomic: invalid change")

func badChange(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadChange, fmt.Sprintf(format, args...))
}

var (
	fileStartRE = regexp.MustCompile(`^=== (FILE|DELETE): (.+) ===$`)
	fileEndRE   = regexp.MustCompile(`^=== END FILE ===$`)
	fenceRE     = regexp.MustCompile("(?s)```(?:diff|patch)[ \t]*\n(.*?)\n```")
)

// ParseChange parses a reply strictly. A reply holds exactly one of:
// a single fenced ```diff (or ```patch) block with a unified diff, or one
// or more file blocks
//
//	=== FILE: path/to/file ===
//	<the whole new content>
//	=== END FILE ===
//	=== DELETE: path/to/old ===
//
// Prose outside the blocks is ignored. Unterminated blocks, duplicate
// paths, both forms together or neither are errors.
func ParseChange(reply string) (*Change, error) {
	reply = strings.ReplaceAll(reply, "\r\n", "\n")
	fences := fenceRE.FindAllStringSubmatch(reply, -1)
	var files []FileChange
	seen := map[string]bool{}
	lines := strings.Split(reply, "\n")
	for i := 0; i < len(lines); i++ {
		m := fileStartRE.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.HasPrefix(lines[i], "=== ") && strings.HasSuffix(lines[i], " ===") {
				return nil, badChange("line %d: unexpected marker %q", i+1, lines[i])
			}
			continue
		}
		p := strings.TrimSpace(m[2])
		if seen[p] {
			return nil, badChange("%s appears twice", p)
		}
		seen[p] = true
		if m[1] == "DELETE" {
			files = append(files, FileChange{Path: p, Delete: true})
			continue
		}
		var body []string
		j := i + 1
		for ; j < len(lines) && !fileEndRE.MatchString(lines[j]); j++ {
			if fileStartRE.MatchString(lines[j]) {
				return nil, badChange("block of %s is not terminated before line %d", p, j+1)
			}
			body = append(body, lines[j])
		}
		if j == len(lines) {
			return nil, badChange("block of %s has no === END FILE ===", p)
		}
		content := strings.Join(body, "\n")
		if content != "" {
			content += "\n"
		}
		files = append(files, FileChange{Path: p, Content: content})
		i = j
	}
	switch {
	case len(files) > 0 && len(fences) > 0:
		return nil, badChange("the reply mixes a diff and file blocks")
	case len(fences) > 1:
		return nil, badChange("the reply holds %d diffs, want one", len(fences))
	case len(fences) == 1:
		d := fences[0][1] + "\n"
		if _, err := DiffPaths(d); err != nil {
			return nil, err
		}
		return &Change{Diff: d}, nil
	case len(files) > 0:
		for _, f := range files {
			if err := CheckPath(f.Path); err != nil {
				return nil, err
			}
		}
		return &Change{Files: files}, nil
	}
	return nil, badChange("the reply holds neither a ```diff block nor file blocks")
}

// CheckPath refuses a path that is empty, absolute, not clean, climbs out
// of the repository (..), or enters .git/ or .nomic/.
func CheckPath(p string) error {
	switch {
	case p == "" || strings.ContainsAny(p, "\x00\\"):
		return badChange("bad path %q", p)
	case strings.HasPrefix(p, "/") || filepath.IsAbs(p) || (len(p) > 1 && p[1] == ':'):
		return badChange("absolute path %q", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return badChange("path %q leaves the repository (..)", p)
	case path.Clean(p) != p || p == ".":
		return badChange("path %q is not clean", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.EqualFold(seg, ".git") {
			return badChange("path %q is inside .git/", p)
		}
	}
	if p == ".nomic" || strings.HasPrefix(p, ".nomic/") {
		return badChange("path %q is inside .nomic/", p)
	}
	return nil
}

// DiffPaths returns the paths a unified diff touches, checking each with
// CheckPath and refusing symlinks, submodules and binary patches.
func DiffPaths(diff string) ([]string, error) {
	var paths []string
	add := func(p string) error {
		if p == "/dev/null" {
			return nil
		}
		if err := CheckPath(p); err != nil {
			return err
		}
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
		return nil
	}
	strip := func(s, prefix string) string {
		s = strings.TrimSpace(s)
		if i := strings.IndexByte(s, '\t'); i >= 0 {
			s = s[:i]
		}
		if strings.HasPrefix(s, `"`) {
			return "\x00quoted" // quoted (escaped) names are refused by CheckPath
		}
		return strings.TrimPrefix(s, prefix)
	}
	hunks := 0
	for _, l := range strings.Split(diff, "\n") {
		var err error
		switch {
		case strings.HasPrefix(l, "diff --git "):
			f := strings.Fields(strings.TrimPrefix(l, "diff --git "))
			if len(f) != 2 || !strings.HasPrefix(f[0], "a/") || !strings.HasPrefix(f[1], "b/") {
				return nil, badChange("unparsable header %q", l)
			}
			if err = add(strings.TrimPrefix(f[0], "a/")); err == nil {
				err = add(strings.TrimPrefix(f[1], "b/"))
			}
		case strings.HasPrefix(l, "--- "):
			err = add(strip(l[4:], "a/"))
		case strings.HasPrefix(l, "+++ "):
			err = add(strip(l[4:], "b/"))
		case strings.HasPrefix(l, "rename from "), strings.HasPrefix(l, "copy from "):
			_, p, _ := strings.Cut(l, " from ")
			err = add(p)
		case strings.HasPrefix(l, "rename to "), strings.HasPrefix(l, "copy to "):
			_, p, _ := strings.Cut(l, " to ")
			err = add(p)
		case strings.Contains(l, "mode 120000"):
			return nil, badChange("the diff creates a symlink")
		case strings.Contains(l, "mode 160000"):
			return nil, badChange("the diff touches a submodule")
		case strings.HasPrefix(l, "GIT binary patch"), strings.HasPrefix(l, "Binary files "):
			return nil, badChange("the diff holds a binary patch")
		case strings.HasPrefix(l, "@@ "):
			hunks++
		}
		if err != nil {
			return nil, err
		}
	}
	if len(paths) == 0 {
		return nil, badChange("the diff names no file")
	}
	if hunks == 0 && !strings.Contains(diff, "deleted file mode") && !strings.Contains(diff, "rename from") {
		return nil, badChange("the diff has no hunk")
	}
	return paths, nil
}

// Paths returns the paths c touches.
func (c *Change) Paths() []string {
	if c.Diff != "" {
		p, _ := DiffPaths(c.Diff)
		return p
	}
	var out []string
	for _, f := range c.Files {
		out = append(out, f.Path)
	}
	return out
}

// checkNoSymlink refuses rel when it, or a directory on its way, is a
// symlink inside root: writing through it could leave the repository.
func checkNoSymlink(root, rel string) error {
	segs := strings.Split(rel, "/")
	cur := root
	for _, s := range segs {
		cur = filepath.Join(cur, s)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return badChange("path %q goes through the symlink %s", rel, strings.TrimPrefix(cur, root+string(filepath.Separator)))
		}
	}
	return nil
}

// Apply applies c in the worktree dir (never anywhere else).
func (c *Change) Apply(ctx context.Context, dir string) error {
	for _, p := range c.Paths() {
		if err := CheckPath(p); err != nil {
			return err
		}
		if err := checkNoSymlink(dir, p); err != nil {
			return err
		}
	}
	if c.Diff != "" {
		if _, err := gitIn(ctx, dir, []byte(c.Diff), "apply", "--whitespace=nowarn", "-"); err != nil {
			return badChange("the diff does not apply: %v", err)
		}
		return nil
	}
	for _, f := range c.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Delete {
			if err := os.Remove(p); err != nil {
				return badChange("delete %s: %v", f.Path, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi, err := os.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() {
				return badChange("%s is not a regular file", f.Path)
			}
			mode = fi.Mode().Perm()
		}
		if err := os.WriteFile(p, []byte(f.Content), mode); err != nil {
			return err
		}
	}
	return nil
}
