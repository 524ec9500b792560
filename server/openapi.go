package server

import (
	_ "embed"
	"net/http"
)

// openAPIJSON is the OpenAPI 3.1 description of the HTTP API, generated
// from openapi.yaml (go test ./server -run TestOpenAPIJSONUpToDate -update).
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPI returns the OpenAPI 3.1 document of the HTTP API, as served at
// GET /api/openapi.json. The caller must not modify the slice.
func OpenAPI() []byte { return openAPIJSON }

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	if !s.noQueryOr(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIJSON)
}
