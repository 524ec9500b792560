package console_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/aragora/aragora/console"
)

// The console is an http.Handler with the patterns it serves; the service
// mounts each pattern as a public route beside the API.
func ExampleNew() {
	h, err := console.New(console.Config{Version: "0.8.0"})
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Patterns())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/admin", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Header().Get("X-Frame-Options"))
	// Output:
	// [GET /{$} GET /login GET /admin GET /portal GET /debates GET /debates/{id} GET /console/{file...}]
	// 200 text/html; charset=utf-8
	// DENY
}
