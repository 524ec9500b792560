package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

//go:embed web
var webFS embed.FS

// ContentSecurityPolicy is sent with every response of the console. It
// allows only same-origin scripts, styles, images and connections (the
// API and its WebSocket), no inline code, no framing, and Trusted Types
// with no policy, so no string ever reaches an HTML sink.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// Config tunes the console. The zero value works.
type Config struct {
	// Version is shown in the page footer; default "dev".
	Version string
}

// page is one HTML page: its template, title and script module.
type page struct {
	name, title, script string
}

var pages = []page{
	{"login", "Sign in", "login.js"},
	{"admin", "Admin console", "admin.js"},
	{"portal", "Developer portal", "portal.js"},
	{"debates", "Debates", "debates.js"},
	{"debate", "Debate", "viewer.js"},
	{"notfound", "Not found", "notfound.js"},
}

// file is a rendered page or an embedded asset, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

func newFile(body []byte, contentType string) *file {
	sum := sha256.Sum256(body)
	return &file{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Handler serves the console. It is safe for concurrent use; create it
// with [New].
type Handler struct {
	pages  map[string]*file // by page name
	assets map[string]*file // by path below /console/
}

// New renders the pages and indexes the embedded assets. It fails only
// if an embedded template is broken, which the package's tests rule out.
func New(cfg Config) (*Handler, error) {
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	h := &Handler{pages: map[string]*file{}, assets: map[string]*file{}}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(template.FuncMap{"args": args}).
			ParseFS(webFS, "web/layout.html", "web/parts.html", "web/pages/"+p.name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", p.name, err)
		}
		var b bytes.Buffer
		err = t.ExecuteTemplate(&b, "layout.html", map[string]string{
			"Page": p.name, "Title": p.title, "Script": p.script, "Version": cfg.Version})
		if err != nil {
			return nil, fmt.Errorf("console: page %s: %w", p.name, err)
		}
		h.pages[p.name] = newFile(b.Bytes(), "text/html; charset=utf-8")
	}
	err := fs.WalkDir(webFS, "web/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		h.assets[strings.TrimPrefix(p, "web/static/")] = newFile(b, ct)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: assets: %w", err)
	}
	return h, nil
}

// args is the argument of a part of web/parts.html: its names and
// values, in pairs.
func args(kv ...string) (map[string]string, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("args: %d strings, not name and value pairs", len(kv))
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m, nil
}

// Files returns the embedded files: the page templates (layout.html,
// parts.html, pages/) and the assets served below /console/ (static/).
func Files() fs.FS {
	sub, _ := fs.Sub(webFS, "web") // "web" is embedded: Sub cannot fail
	return sub
}

// Patterns returns the GET patterns the handler serves; the service mounts
// each as a public route of the API listener (server.Config.Routes).
func (h *Handler) Patterns() []string {
	return []string{"GET /{$}", "GET /login", "GET /admin", "GET /portal", "GET /debates", "GET /debates/{id}",
		"GET /console/{file...}"}
}

// debateIDRE is the path id rule of the API: anything else is a 404 page.
var debateIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ServeHTTP serves the pages and assets. Any other path is a 404 page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	p := r.URL.Path
	switch {
	case p == "/":
		http.Redirect(w, r, "/debates", http.StatusSeeOther)
	case strings.HasPrefix(p, "/console/"):
		if f, ok := h.assets[strings.TrimPrefix(p, "/console/")]; ok {
			h.serve(w, r, f, http.StatusOK)
			return
		}
		h.serve(w, r, h.pages["notfound"], http.StatusNotFound)
	case p == "/login", p == "/admin", p == "/portal", p == "/debates":
		h.serve(w, r, h.pages[p[1:]], http.StatusOK)
	case strings.HasPrefix(p, "/debates/") && debateIDRE.MatchString(strings.TrimPrefix(p, "/debates/")):
		h.serve(w, r, h.pages["debate"], http.StatusOK)
	default:
		h.serve(w, r, h.pages["notfound"], http.StatusNotFound)
	}
}

// serve writes f, answering a matching If-None-Match with 304. Browsers
// revalidate every time (no-cache), so a new binary's files are used at
// once, at the cost of one conditional request per file.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f *file, status int) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", "no-cache")
	if status == http.StatusOK {
		hdr.Set("ETag", f.etag) // ServeContent answers If-None-Match with 304
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
		return
	}
	hdr.Set("Content-Length", fmt.Sprint(len(f.body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.body)
	}
}
