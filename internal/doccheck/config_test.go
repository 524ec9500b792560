package doccheck

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/service"
)

// envName is what an environment variable name looks like.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)

// notEnv lists string literals of the binary that look like variable names
// but are wire values, with where they come from.
var notEnv = map[string]string{
	"API_KEY_INVALID":    "agent/gemini: an error reason in Gemini's error body",
	"RESOURCE_EXHAUSTED": "agent/gemini: Gemini's quota status",
}

// root returns the repository root (the directory holding go.mod).
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// documentedVars returns the variables of the tables between the
// env-table markers of docs/configuration.md, with their line numbers.
func documentedVars(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\|\\s*`([A-Z][A-Z0-9_]*)`\\s*\\|")
	out := map[string]int{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.Contains(line, "<!-- env-table:begin -->"):
			in = true
		case strings.Contains(line, "<!-- env-table:end -->"):
			in = false
		case in:
			if m := row.FindStringSubmatch(line); m != nil {
				if prev, dup := out[m[1]]; dup {
					t.Errorf("docs/configuration.md:%d: %s is listed twice (also line %d)", n, m[1], prev)
				}
				out[m[1]] = n
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/configuration.md: no variable rows between <!-- env-table:begin --> and <!-- env-table:end -->")
	}
	return out
}

// binaryFiles returns the non-test Go files of this module's packages that
// the aragora binary links.
func binaryFiles(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if eq .Module.Path "github.com/aragora/aragora"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./cmd/aragora")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/aragora: %v", err)
	}
	return strings.Fields(string(out))
}

// literalVars returns the string literals of files that look like
// environment variable names, with a place each occurs.
func literalVars(t *testing.T, files []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && envName.MatchString(s) {
				if _, seen := out[s]; !seen {
					out[s] = fset.Position(lit.Pos()).String()
				}
			}
			return true
		})
	}
	return out
}

// askedVars returns the variables the configuration readers of the
// library (registry, ratelimit, service) ask for, names built at run time included (<PROVIDER>_API_KEY,
// <PROVIDER>_BASE_URL).
func askedVars(t *testing.T) map[string]string {
	t.Helper()
	var mu sync.Mutex
	out := map[string]string{}
	record := func(reader string) func(string) string {
		return func(k string) string {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := out[k]; !ok {
				out[k] = reader
			}
			return ""
		}
	}
	if _, err := registry.FromEnv(record("registry.FromEnv")); err != nil {
		t.Fatal(err)
	}
	if _, err := ratelimit.ParseConfig(record("ratelimit.ParseConfig")); err != nil {
		t.Fatal(err)
	}
	if _, err := service.ConfigFromEnv(record("service.ConfigFromEnv")); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConfigurationTable holds docs/configuration.md equal to what the
// binary reads. Add a row there for a variable you add; remove the row of
// one you remove.
func TestConfigurationTable(t *testing.T) {
	dir := root(t)
	documented := documentedVars(t, filepath.Join(dir, "docs", "configuration.md"))
	read := literalVars(t, binaryFiles(t, dir))
	for k, where := range read {
		read[k] = strings.TrimPrefix(where, dir+string(filepath.Separator))
	}
	for k, where := range askedVars(t) {
		if _, ok := read[k]; !ok {
			read[k] = where
		}
	}
	for k := range notEnv {
		delete(read, k)
	}
	var missing, stale []string
	for k, where := range read {
		if _, ok := documented[k]; !ok {
			missing = append(missing, k+" (read at "+where+")")
		}
	}
	for k, line := range documented {
		if _, ok := read[k]; !ok {
			stale = append(stale, k+" (docs/configuration.md:"+strconv.Itoa(line)+")")
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("the binary reads variables docs/configuration.md does not list; add a row for each:\n  %s\n"+
			"(a literal that is not an environment variable goes in notEnv in internal/doccheck/config_test.go)",
			strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("docs/configuration.md lists variables the binary does not read; remove them:\n  %s", strings.Join(stale, "\n  "))
	}
}
