package nomic

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aragora/aragora/receipt"
)

// ConstitutionPath is the constitution's path inside a target repository.
const ConstitutionPath = ".nomic/constitution.json"

// Signature algorithm of a constitution.
const SignatureAlg = "Ed25519"

// Default limits of a change (docs/nomic.md#the-constitution).
const (
	DefaultMaxFiles      = 10
	DefaultMaxLines      = 500
	DefaultVerifyTimeout = 240 // seconds
	DefaultContextTokens = 6000
	maxConstitutionBytes = 1 << 20
)

// Command is one verify command: an argv run in the worktree, in its own
// process group, killed with its children at the timeout.
type Command struct {
	Name           string   `json:"name"`
	Argv           []string `json:"argv"`
	TimeoutSeconds int      `json:"timeout_seconds,omitempty"` // 0: 240
}

// Limits bound one change.
type Limits struct {
	MaxFiles int `json:"max_files"` // files touched
	MaxLines int `json:"max_lines"` // lines added plus deleted
}

// Signature is a constitution's signature: Ed25519 over the RFC 8785
// canonical JSON of the constitution without its signature field.
type Signature struct {
	Alg   string `json:"alg"`
	KeyID string `json:"key_id"`
	Value string `json:"value"` // base64 (standard, padded)
}

// Constitution is the signed rule set of a target repository
// (.nomic/constitution.json): rules the agents are shown, protected path
// globs with the SHA-256 of every protected file, the verify commands and
// the limits of a change.
type Constitution struct {
	Version   int               `json:"version"`
	Rules     []string          `json:"rules"`
	Protected []string          `json:"protected"` // globs; ** spans directories
	Checksums map[string]string `json:"checksums"` // path -> hex SHA-256
	Verify    []Command         `json:"verify"`
	Limits    Limits            `json:"limits"`
	Signature *Signature        `json:"signature,omitempty"`
}

// Errors of the constitution check. The loop refuses to start on each.
var (
	ErrNoConstitution = errors.New("nomic: no constitution")
	ErrNoPublicKey    = errors.New("nomic: no constitution public key configured (ARAGORA_CONSTITUTION_PUBLIC_KEY): the signature cannot be checked")
	ErrUnsigned       = errors.New("nomic: the constitution is not signed")
	ErrBadSignature   = errors.New("nomic: the constitution's signature is invalid")
)

// LoadConstitution reads and parses the constitution at path, strictly
// (unknown fields are an error). It does not check the signature.
func LoadConstitution(path string) (*Constitution, []byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s does not exist (aragora constitution init)", ErrNoConstitution, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("nomic: read constitution: %w", err)
	}
	if len(raw) > maxConstitutionBytes {
		return nil, nil, fmt.Errorf("nomic: constitution %s is larger than 1 MiB", path)
	}
	var c Constitution
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, fmt.Errorf("nomic: parse constitution %s: %w", path, err)
	}
	return &c, raw, nil
}

// signedBytes is the canonical JSON of c without its signature.
func (c *Constitution) signedBytes() ([]byte, error) {
	u := *c
	u.Signature = nil
	return receipt.Canonical(u)
}

// Sign sets c's signature with priv.
func (c *Constitution) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return errors.New("nomic: the constitution key is not an Ed25519 private key")
	}
	msg, err := c.signedBytes()
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	c.Signature = &Signature{Alg: SignatureAlg, KeyID: receipt.Ed25519KeyID(pub), Value: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))}
	return nil
}

// VerifySignature checks c's signature with pub. It never passes without
// a key: a nil key is ErrNoPublicKey, a missing signature ErrUnsigned, a
// wrong one ErrBadSignature.
func (c *Constitution) VerifySignature(pub ed25519.PublicKey) error {
	if len(pub) == 0 {
		return ErrNoPublicKey
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("nomic: the constitution public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if c.Signature == nil || c.Signature.Value == "" {
		return ErrUnsigned
	}
	if c.Signature.Alg != SignatureAlg {
		return fmt.Errorf("%w: algorithm %q, want %s", ErrBadSignature, c.Signature.Alg, SignatureAlg)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature.Value)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	msg, err := c.signedBytes()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w (key %s)", ErrBadSignature, receipt.Ed25519KeyID(pub))
	}
	return nil
}

// VerifyFile loads the constitution at path and checks its signature and
// that it round-trips: a byte altered anywhere in the file fails, also in
// places JSON parsing would ignore (the file must be exactly what
// MarshalFile writes).
func VerifyFile(path string, pub ed25519.PublicKey) (*Constitution, error) {
	c, raw, err := LoadConstitution(path)
	if err != nil {
		return nil, err
	}
	if err := c.VerifySignature(pub); err != nil {
		return nil, err
	}
	want, err := c.MarshalFile()
	if err != nil {
		return nil, err
	}
	if string(want) != string(raw) {
		return nil, fmt.Errorf("%w: %s is not in its signed layout (re-sign it)", ErrBadSignature, path)
	}
	return c, nil
}

// MarshalFile is the file form of c: indented JSON and a final newline.
func (c *Constitution) MarshalFile() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Write writes c to path (directories created), mode 0644.
func (c *Constitution) Write(path string) error {
	b, err := c.MarshalFile()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// DecodeKey decodes a base64 key (standard or URL alphabet, padded or not,
// surrounding space ignored).
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("nomic: the key is not base64")
}

// ParsePublicKey decodes a base64 Ed25519 public key ("" gives nil).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	b, err := DecodeKey(s)
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("nomic: the public key has %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ParsePrivateKey decodes a base64 Ed25519 private key (64 bytes, or a
// 32-byte seed).
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := DecodeKey(s)
	if err != nil {
		return nil, err
	}
	switch len(b) {
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(b), nil
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	}
	return nil, fmt.Errorf("nomic: the private key has %d bytes, want %d (or a %d-byte seed)", len(b), ed25519.PrivateKeySize, ed25519.SeedSize)
}

// RepoKind guesses a repository's language from its top-level files: "go",
// "python" or "".
func RepoKind(root string) string {
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(root, name)); return err == nil }
	switch {
	case exists("go.mod"):
		return "go"
	case exists("pyproject.toml"), exists("setup.py"), exists("requirements.txt"), exists("tests"):
		return "python"
	}
	return ""
}

// DefaultVerify returns the verify commands of a kind of repository.
func DefaultVerify(kind string) []Command {
	switch kind {
	case "go":
		return []Command{
			{Name: "build", Argv: []string{"go", "build", "./..."}},
			{Name: "vet", Argv: []string{"go", "vet", "./..."}},
			{Name: "test", Argv: []string{"go", "test", "./..."}},
		}
	case "python":
		// -f: compileall trusts a cached .pyc whose recorded mtime has
		// one-second resolution, so a file rewritten within the same
		// second as the last check would pass unchecked.
		return []Command{
			{Name: "syntax", Argv: []string{"python3", "-m", "compileall", "-q", "-f", "-x", `(^|/)\.[^/]`, "."}},
			{Name: "imports", Argv: []string{"python3", "-c", pythonImportCheck}},
			{Name: "test", Argv: []string{"python3", "-m", "pytest", "tests/", "-x", "--tb=short", "-q"}},
		}
	}
	return nil
}

// pythonImportCheck imports every top-level module and package of the
// repository (not tests), so a broken import fails verify.
const pythonImportCheck = `import importlib, os, sys
sys.path.insert(0, os.getcwd())
bad = 0
for n in sorted(os.listdir('.')):
    if n.startswith('.') or n in ('tests', 'setup.py', 'conftest.py'):
        continue
    m = n[:-3] if n.endswith('.py') else (n if os.path.isfile(os.path.join(n, '__init__.py')) else None)
    if m:
        try:
            importlib.import_module(m)
        except Exception as e:
            print('import %s: %s' % (m, e)); bad = 1
sys.exit(bad)
`

// DefaultProtected are the globs a starter constitution protects.
var DefaultProtected = []string{"go.mod", "go.sum", "LICENSE*", ".github/**", ".gitignore", "pyproject.toml", "setup.py"}

// NewConstitution returns a starter constitution for the repository at
// root: the default rules, protected globs, verify commands of its kind,
// limits and the checksums of the protected files present. It is unsigned.
func NewConstitution(root string) (*Constitution, error) {
	c := &Constitution{
		Version: 1,
		Rules: []string{
			"Make one small, self-contained improvement per cycle.",
			"Never edit protected files, the constitution or anything under .nomic/ or .git/.",
			"Never delete or weaken tests; add tests for new behaviour.",
			"The change must build and pass every verify command.",
		},
		Protected: slices.Clone(DefaultProtected),
		Verify:    DefaultVerify(RepoKind(root)),
		Limits:    Limits{MaxFiles: DefaultMaxFiles, MaxLines: DefaultMaxLines},
	}
	if err := c.UpdateChecksums(root); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateChecksums recomputes the checksum of every regular file under root
// that a protected glob matches (.git/ and .nomic/ excluded).
func (c *Constitution) UpdateChecksums(root string) error {
	sums := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == ".nomic" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !c.IsProtected(rel) {
			return nil
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return err
		}
		sums[rel] = sum
		return nil
	})
	if err != nil {
		return fmt.Errorf("nomic: checksums: %w", err)
	}
	c.Checksums = sums
	return nil
}

// IsProtected reports whether rel (slash-separated, relative to the
// repository) is protected: under .git/ or .nomic/, in Checksums, or
// matched by a protected glob.
func (c *Constitution) IsProtected(rel string) bool {
	if rel == ".git" || rel == ".nomic" || strings.HasPrefix(rel, ".git/") || strings.HasPrefix(rel, ".nomic/") {
		return true
	}
	if _, ok := c.Checksums[rel]; ok {
		return true
	}
	for _, g := range c.Protected {
		if MatchGlob(g, rel) {
			return true
		}
	}
	return false
}

// CheckChecksums returns the protected files under root whose content no
// longer matches the constitution (changed or missing).
func (c *Constitution) CheckChecksums(root string) []string {
	var bad []string
	for rel, want := range c.Checksums {
		got, err := fileSHA256(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil || got != want {
			bad = append(bad, rel)
		}
	}
	slices.Sort(bad)
	return bad
}

func fileSHA256(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// MatchGlob matches a slash-separated path against a glob where * and ?
// stay within one segment and ** matches any number of segments.
func MatchGlob(glob, name string) bool {
	return matchSegs(strings.Split(glob, "/"), strings.Split(name, "/"))
}

func matchSegs(g, n []string) bool {
	for len(g) > 0 {
		if g[0] == "**" {
			for i := 0; i <= len(n); i++ {
				if matchSegs(g[1:], n[i:]) {
					return true
				}
			}
			return false
		}
		if len(n) == 0 {
			return false
		}
		if ok, err := filepath.Match(g[0], n[0]); err != nil || !ok {
			return false
		}
		g, n = g[1:], n[1:]
	}
	return len(n) == 0
}
