package service

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aragora/aragora/console"
)

// TestOpenServesTheConsole checks that the service mounts the web console
// beside the API, with its own headers, and the emergency switch; and that
// DisableConsole leaves the pages out.
func TestOpenServesTheConsole(t *testing.T) {
	open := func(disable bool) *Service {
		return openForTest(t, Config{DataDir: t.TempDir(), DatabaseURL: "memory://", Stderr: io.Discard,
			DisableConsole: disable, Version: "1.2.3"})
	}
	get := func(h http.Handler, method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	h := open(false).Handler()
	for _, path := range []string{"/login", "/admin", "/portal", "/debates", "/debates/deb_x", "/console/js/api.js"} {
		w := get(h, "GET", path)
		assert.Equal(t, http.StatusOK, w.Code, path)
		assert.Equal(t, console.ContentSecurityPolicy, w.Header().Get("Content-Security-Policy"), path)
		assert.NotEmpty(t, w.Header().Get("X-Correlation-ID"), path)
		assert.Empty(t, w.Header().Get("X-RateLimit-Limit"), "%s is rate limited", path)
	}
	assert.Contains(t, get(h, "GET", "/admin").Body.String(), "Aragora 1.2.3")
	assert.Equal(t, http.StatusSeeOther, get(h, "GET", "/").Code)
	// The API keeps its own answers, and the emergency switch is served.
	w := get(h, "GET", "/api/nope")
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, w.Body.String(), `"not_found"`)
	assert.Equal(t, http.StatusUnauthorized, get(h, "POST", "/api/admin/rate-limits/emergency").Code)

	plain := open(true).Handler()
	assert.Equal(t, http.StatusNotFound, get(plain, "GET", "/admin").Code)
	assert.Equal(t, http.StatusOK, get(plain, "GET", "/api/health").Code)
}
