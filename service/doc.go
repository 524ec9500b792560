// Package service is the whole Aragora service as a library: it composes
// the stores (SQLite, Postgres, memory), Redis (fan-out, deny-list cache,
// shared rate limits), the agent registry, authentication and its key
// ring, rate limits, metrics, the debate lifecycle and the HTTP/WS server
// from one [Config], the way `aragora serve` runs them.
//
// It is the one package besides cmd and examples that links every backend
// and driver, so that a program embedding the service gets the same
// behaviour as the binary:
//
//	cfg, err := service.ConfigFromEnv(os.Getenv) // or a Config literal
//	if err != nil {
//		log.Fatal(err)
//	}
//	svc, err := service.Open(ctx, cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	log.Fatal(svc.Run(ctx)) // listeners, sweeper, graceful shutdown when ctx ends
//
// A program with listeners of its own mounts [Service.Handler] (and
// [Service.WSHandler]) in its mux and calls [Service.Start] and
// [Service.Shutdown] itself; [Config].Routes adds routes served with the
// service's authentication, rate limits and logs.
//
// Run binds the API and WebSocket listeners with SO_REUSEPORT, so a new
// process can bind while the old one drains, and on shutdown follows the
// sequence of docs/operations.md: readiness turns 503 draining, the
// listeners stay open a few seconds for load balancers, running debates
// return to pending for the next process, WebSockets close with 1001, and
// the stores close.
package service
