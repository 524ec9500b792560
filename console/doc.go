// Package console is the browser UI of aragora serve: a sign-in page
// (/login), the admin console (/admin), the developer portal (/portal) and
// the debate list and live viewer (/debates, /debates/{id}). docs/console.md
// describes every page.
//
// [New] returns an http.Handler that serves only static files embedded in
// the binary (go:embed): HTML pages rendered once from templates at start,
// one stylesheet and vanilla JavaScript modules. Nothing is fetched from
// another origin (no CDN, no web font), no front-end toolchain is needed to
// build it, and the package imports nothing of Aragora's: every page talks
// to the HTTP API and the WebSocket stream of the same origin from the
// browser, with the same rules as any other client. The service mounts the
// handler beside the API, one public route per pattern
// (server.Config.Routes; service.Config.DisableConsole leaves it out): the
// files hold no data.
//
// # Security model
//
// The HTTP API takes credentials only in the Authorization header and
// accepts no cookies, so the console does not invent a cookie session:
//
//   - Signing in posts to /api/auth/login from same-origin JavaScript and
//     keeps the token pair in the tab's sessionStorage. sessionStorage is
//     readable only by scripts of this origin, lives as long as the tab and
//     is never sent automatically, so no other origin can read or use the
//     tokens, and there is no ambient credential a cross-site request could
//     ride on: cross-site request forgery has nothing to forge, and no CSRF
//     token is needed. Every request adds Authorization: Bearer itself,
//     with credentials "omit".
//   - The access token (15 minutes by default) is renewed with the refresh
//     token shortly before it expires; signing out posts to
//     /api/auth/logout, which deny-lists both, and clears the storage.
//   - What sessionStorage does not protect against is script injected into
//     the page, so every response carries a strict Content-Security-Policy:
//     scripts, styles, images and connections only from 'self', no inline
//     script or style, no eval, no framing (frame-ancestors 'none'), and
//     Trusted Types with no policy, so the pages cannot assign a string to
//     an HTML sink at all. The pages build the DOM with textContent and
//     createElement only; debate content is always text.
//   - The WebSocket viewer authenticates with the Sec-WebSocket-Protocol
//     header (aragora.v1, bearer.<token>); the server checks the Origin of
//     the upgrade against the request's own host.
//
// Because the token lives in the browser, the server cannot tell a
// member's page request from an admin's: /admin is served to anyone, and
// the page asks /api/auth/me first and shows a 403 view to a role below
// admin without calling any admin API. The data stays protected where it
// always is, in the API's role checks.
package console
