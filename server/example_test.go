package server_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store/memstore"
)

func ExampleNew() {
	s, err := server.New(memstore.New(), demoRegistry{}, server.Config{Version: "0.8.0"})
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/livez", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 {"status":"alive"}
}
