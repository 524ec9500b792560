package console_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/console"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHandler(t *testing.T) *console.Handler {
	t.Helper()
	h, err := console.New(console.Config{Version: "1.2.3"})
	require.NoError(t, err)
	return h
}

func get(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// pages are the HTML pages and the script module each loads.
var pages = map[string]string{
	"/login": "login.js", "/admin": "admin.js", "/portal": "portal.js", "/debates": "debates.js",
	"/debates/deb_01hq3z8k2m4n6p8r0t2v4x6z8b": "viewer.js",
}

func assertSecurityHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	h := w.Header()
	assert.Equal(t, console.ContentSecurityPolicy, h.Get("Content-Security-Policy"))
	assert.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self';")
	assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.NotContains(t, h.Get("Content-Security-Policy"), "unsafe")
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	assert.Equal(t, "same-origin", h.Get("Cross-Origin-Opener-Policy"))
	assert.Equal(t, "no-cache", h.Get("Cache-Control"))
	assert.Empty(t, h.Get("Set-Cookie"))
}

func TestPages(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for path, script := range pages {
		w := get(h, "GET", path)
		require.Equal(t, http.StatusOK, w.Code, path)
		assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"), path)
		assertSecurityHeaders(t, w)
		body := w.Body.String()
		assert.Contains(t, body, `<script type="module" src="/console/js/`+script+`"></script>`, path)
		assert.Contains(t, body, `<html lang="en">`, path)
		assert.Contains(t, body, "Aragora 1.2.3", path)
		assert.NotContains(t, body, "<script>", "inline script in %s", path)
		assert.NotContains(t, body, "style=", "inline style in %s", path)
		assert.NotRegexp(t, ` on[a-z]+=`, body, "inline event handler in %s", path)
	}
	// The page of the current section is marked for assistive technology.
	assert.Contains(t, get(h, "GET", "/portal").Body.String(), `<a href="/portal" aria-current="page">Portal</a>`)
}

func TestRootRedirectsToDebates(t *testing.T) {
	t.Parallel()
	w := get(newHandler(t), "GET", "/")
	assert.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/debates", w.Header().Get("Location"))
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for _, path := range []string{"/console/nope.js", "/console/js/", "/debates/" + strings.Repeat("x", 65), "/debates/a%20b", "/elsewhere"} {
		w := get(h, "GET", path)
		assert.Equal(t, http.StatusNotFound, w.Code, path)
		assert.Contains(t, w.Body.String(), "Page not found", path)
		assertSecurityHeaders(t, w)
	}
	w := get(h, "HEAD", "/console/nope.js")
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Empty(t, w.Body.String())
}

func TestMethods(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	w := get(h, "POST", "/login")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
	w = get(h, "HEAD", "/admin")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Body.String())
	assert.NotEmpty(t, w.Header().Get("Content-Length"))
}

func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for _, path := range []string{"/admin", "/console/console.css", "/console/js/api.js"} {
		w := get(h, "GET", path)
		etag := w.Header().Get("ETag")
		require.NotEmpty(t, etag, path)
		w = get(h, "GET", path, "If-None-Match", etag)
		assert.Equal(t, http.StatusNotModified, w.Code, path)
		assert.Empty(t, w.Body.String(), path)
	}
	// Different files have different tags.
	assert.NotEqual(t, get(h, "GET", "/admin").Header().Get("ETag"), get(h, "GET", "/portal").Header().Get("ETag"))
}

var (
	refRE    = regexp.MustCompile(`(?:src|href|action)="([^"]*)"`)
	importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*from\s+'([^']+)'`)
	urlRE    = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
)

// TestEverythingIsLocal follows every reference of every page and module:
// each resolves to a file the handler serves with the right type, and no
// file names another origin (the one URL allowed is the SVG namespace,
// which is an identifier, never fetched).
func TestEverythingIsLocal(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	check := func(from, ref string) {
		t.Helper()
		switch {
		case strings.HasPrefix(ref, "#"), ref == "/debates", ref == "/portal", ref == "/admin", ref == "/api/health":
			return
		case !strings.HasPrefix(ref, "/console/"):
			t.Errorf("%s refers to %q outside the console's files", from, ref)
			return
		}
		w := get(h, "GET", ref)
		if assert.Equal(t, http.StatusOK, w.Code, "%s -> %s", from, ref) {
			ext := ref[strings.LastIndexByte(ref, '.'):]
			assert.Equal(t, types[ext], w.Header().Get("Content-Type"), ref)
			assertSecurityHeaders(t, w)
		}
	}
	for path := range pages {
		for _, m := range refRE.FindAllStringSubmatch(get(h, "GET", path).Body.String(), -1) {
			check(path, m[1])
		}
	}
	files := 0
	err := fs.WalkDir(console.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := fs.ReadFile(console.Files(), p)
		require.NoError(t, err)
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		assert.Empty(t, urlRE.FindAllString(text, -1), "%s names another origin", p)
		if strings.HasSuffix(p, ".js") {
			for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
				require.True(t, strings.HasPrefix(m[1], "./"), "%s imports %q", p, m[1])
				check(p, "/console/js/"+strings.TrimPrefix(m[1], "./"))
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, files, 15)
}

// TestNoHTMLSinks keeps the modules free of the sinks Trusted Types would
// refuse at run time.
func TestNoHTMLSinks(t *testing.T) {
	t.Parallel()
	sink := regexp.MustCompile(`\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	err := fs.WalkDir(console.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(console.Files(), p)
		require.NoError(t, err)
		assert.Empty(t, sink.FindAllString(string(b), -1), p)
		return nil
	})
	require.NoError(t, err)
}
