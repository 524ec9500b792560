package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleMarker precedes a README snippet that is the body of an example
// test: <!-- example: path/to/example_test.go ExampleName -->.
var exampleMarker = regexp.MustCompile(`^<!-- example: (\S+) (\w+) -->$`)

// exampleBody returns the body of function name in the Go file at path,
// without its "// Output:" comment block.
func exampleBody(t *testing.T, path, name string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && fd.Body != nil {
			body := string(src[fset.Position(fd.Body.Lbrace).Offset+1 : fset.Position(fd.Body.Rbrace).Offset])
			if i := strings.Index(body, "\t// Output:"); i >= 0 {
				body = body[:i]
			}
			return strings.TrimSpace(body)
		}
	}
	t.Fatalf("%s: no function %s", path, name)
	return ""
}

// mainBody returns the body of func main of a whole-program snippet.
func mainBody(src string) string {
	i := strings.Index(src, "\nfunc main() {\n")
	j := strings.LastIndex(src, "\n}")
	if i < 0 || j < i {
		return ""
	}
	return strings.TrimSpace(src[i+len("\nfunc main() {\n") : j])
}

// TestReadmeSnippetsAreExamples checks that every README.md snippet marked
// as an example is the body of that example test, so that `go test` runs
// (and compiles) exactly the code the README shows.
func TestReadmeSnippetsAreExamples(t *testing.T) {
	dir := root(t)
	data, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	found := 0
	for n := 0; n < len(lines); n++ {
		m := exampleMarker.FindStringSubmatch(strings.TrimSpace(lines[n]))
		if m == nil {
			continue
		}
		found++
		if n+1 >= len(lines) || strings.TrimSpace(lines[n+1]) != "```go" {
			t.Errorf("README.md:%d: an example marker must be followed by a ```go block", n+1)
			continue
		}
		var b strings.Builder
		for k := n + 2; k < len(lines) && strings.TrimSpace(lines[k]) != "```"; k++ {
			b.WriteString(lines[k] + "\n")
		}
		got, want := mainBody(b.String()), exampleBody(t, filepath.Join(dir, m[1]), m[2])
		if got != want {
			t.Errorf("README.md:%d: the snippet is not the body of %s in %s; copy it again.\nREADME:\n%s\nexample:\n%s", n+1, m[2], m[1], got, want)
		}
	}
	if found < 3 {
		t.Errorf("README.md: %d example snippets, want the three levels of \"Use it as a library\"", found)
	}
}
