// Package server implements the Aragora HTTP API and WebSocket stream of
// docs/http-api.md as an http.Handler. It never listens: cmd/aragora owns listeners,
// configuration and shutdown.
//
// A [Server] is built with [New] from a debate factory, an agent registry
// and a store port. Everything else (authentication, breakers, rate-limit
// views, diagnostics, the Prometheus handler) is wired in through small
// interfaces in [Config], so this package imports no backend, no provider
// adapter and no Prometheus client.
//
// # Routing
//
// [Server.Handler] serves the API listener and [Server.WSHandler] the
// WebSocket listener. Both answer unknown paths with 404 not_found, wrong
// methods with 405 method_not_allowed and an Allow header, and every error
// with the JSON body of docs/http-api.md#errors, carrying the request's correlation id.
package server
