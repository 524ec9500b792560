// Package server is the HTTP/WS edge of Aragora: the JSON API and the
// WebSocket stream (docs/http-api.md, docs/websocket.md) as http.Handlers.
// It decodes requests, authenticates and authorises them, maps errors to
// statuses and fans debate events out to WebSockets; how debates are
// created, run, leased, resumed and described belongs to package
// lifecycle, which it drives. It never listens: package service (or a
// program of its own) owns listeners, configuration and shutdown.
//
// A [Server] is built with [New] from a store port and the agents
// (lifecycle.Agents). Everything else (authentication, breakers, rate-limit
// views, diagnostics, the Prometheus handler) is wired in through small
// interfaces in [Config], so this package imports no backend, no provider
// adapter and no Prometheus client. [Config].Routes adds routes of an
// embedding program.
//
// # Routing
//
// [Server.Handler] serves the API listener and [Server.WSHandler] the
// WebSocket listener. Both answer unknown paths with 404 not_found, wrong
// methods with 405 method_not_allowed and an Allow header, and every error
// with the JSON body of docs/http-api.md#errors, carrying the request's correlation id.
package server
