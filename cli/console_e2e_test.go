package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/console"
)

// The browser tests of the console (docs/console.md) drive Debian's
// Chromium, headless, with chromedp against the real binary. They save a
// screenshot of every page at 375 and 1440 px in $ARAGORA_SCREENSHOT_DIR
// (default: a temporary directory, named in the log), with the axe-core
// results beside them in a11y.json.

const (
	ownerEmail     = "owner@example.com"
	ownerPassword  = "owner-password-0123"
	memberEmail    = "member@example.com"
	memberPassword = "member-password-0123"
)

// chromiumPath finds the browser, or skips with the install hint (CI
// installs it and fails on any skip in this package).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ARAGORA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("the console browser test needs Chromium: apt-get install -y chromium (or set ARAGORA_CHROMIUM)")
	return ""
}

// screenshotDir is where the pages' screenshots and a11y.json go.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARAGORA_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("console screenshots and accessibility results: %s", dir)
	return dir
}

// chrome is one headless Chromium shared by the tabs of a test; it
// records every request and every console problem of every tab.
type chrome struct {
	t         *testing.T
	ctx       context.Context
	origin    *url.URL
	shots     string
	downloads string
	axe       string

	mu       sync.Mutex
	requests []string // URLs of HTTP requests and WebSockets, all tabs
	problems []string // console errors, exceptions, error log entries
	a11y     map[string]axeResult
	// expected404 are paths whose 404 the test causes on purpose.
	expected404 []string
}

func newChrome(t *testing.T, origin string) *chrome {
	t.Helper()
	exe := chromiumPath(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	require.NoError(t, err)
	u, err := url.Parse(origin)
	require.NoError(t, err)
	c := &chrome{t: t, origin: u, shots: screenshotDir(t), downloads: t.TempDir(), axe: string(axe), a11y: map[string]axeResult{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(ctx), "start %s", exe)
	_, err = chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: c.downloads, EventsEnabled: new(true)})
	require.NoError(t, err)
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err = chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: origin})
		require.NoError(t, err)
	}
	c.ctx = ctx
	return c
}

// allowed404 reports a 404 the browser logs as a failed resource that the
// test expects: the optional APIs of the admin console (nomic, webhooks)
// on a server without them, where the page shows "not enabled", and the
// paths a test names with expect404.
func (c *chrome) allowed404(e *cdplog.Entry) bool {
	if e.Source != "network" || !strings.Contains(e.Text, "404") {
		return false
	}
	u, err := url.Parse(e.URL)
	return err == nil && (strings.HasPrefix(u.Path, "/api/admin/nomic/") || strings.HasPrefix(u.Path, "/api/webhooks/") ||
		slices.Contains(c.expected404, u.Path))
}

// expect404 names paths whose 404 the test causes on purpose.
func (c *chrome) expect404(paths ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expected404 = append(c.expected404, paths...)
}

func (c *chrome) listen(tab string) func(ev any) {
	return func(ev any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			c.requests = append(c.requests, e.Request.URL)
		case *network.EventWebSocketCreated:
			c.requests = append(c.requests, e.URL)
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			c.problems = append(c.problems, fmt.Sprintf("%s: exception %s at %s:%d", tab, msg, d.URL, d.LineNumber))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				c.problems = append(c.problems, fmt.Sprintf("%s: console.%s %s", tab, e.Type, strings.Join(parts, " ")))
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError && !c.allowed404(e.Entry) {
				c.problems = append(c.problems, fmt.Sprintf("%s: %s log: %s (%s)", tab, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		}
	}
}

// tab is one browser tab.
type tab struct {
	c    *chrome
	t    *testing.T
	name string
	ctx  context.Context
}

func (c *chrome) tab(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(c.ctx, chromedp.WithListener(c.listen(name)))
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	require.NoError(t, err)
	return &tab{c: c, t: t, name: name, ctx: ctx}
}

// do runs actions with a deadline.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, e2eDeadline)
	defer cancel()
	require.NoError(tb.t, chromedp.Do(ctx, actions...))
}

// eval evaluates js (awaiting a promise) and decodes its value.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, e2eDeadline)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(tb.t, err, "evaluate %s", js)
	return v
}

// wait polls js until it is truthy, across navigations (an evaluation
// that a navigation interrupts is tried again).
func (tb *tab) wait(js, what string) {
	tb.t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+js+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	body, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
	tb.t.Fatalf("waiting for %s (%s): not reached in %v (last error %v); page text:\n%s", what, js, e2eDeadline, last, body)
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.c.origin.String() + path))
}

// signIn signs in on the sign-in page with the keyboard only: type the
// email, Tab to the password, type it, Enter.
func (tb *tab) signIn(email, password string) {
	tb.t.Helper()
	tb.wait(`document.activeElement && document.activeElement.id === 'email'`, "the email field focused")
	tb.do(chromedp.KeyEvent(email), chromedp.KeyEvent(kb.Tab))
	// The focus ring is visible on the keyboard-focused field.
	outline := eval[string](tb, `getComputedStyle(document.activeElement).outlineStyle + ' ' + document.activeElement.id`)
	assert.Equal(tb.t, "solid password", outline, "visible keyboard focus")
	tb.do(chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter))
	tb.wait(`!location.pathname.startsWith('/login')`, "leaving the sign-in page")
}

// press focuses sel and presses Enter: the keyboard way to use a control.
func (tb *tab) press(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(kb.Enter))
}

// toggle flips a checkbox with the space bar.
func (tb *tab) toggle(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(" "))
}

// confirm accepts the page's confirmation dialog with the keyboard.
func (tb *tab) confirm() {
	tb.t.Helper()
	tb.wait(`document.getElementById('confirm').open`, "the confirmation dialog")
	tb.press("#confirm-ok")
	tb.wait(`!document.getElementById('confirm').open`, "the dialog to close")
}

// capture saves screenshots of the page at 375 and 1440 px, checks that
// nothing overflows the page sideways, and runs axe-core at both widths.
func (tb *tab) capture(name string) {
	tb.t.Helper()
	for _, w := range []int64{375, 1440} {
		opts := []chromedp.EmulateViewportOption{}
		if w == 375 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		tb.do(chromedp.EmulateViewport(w, 900, opts...), chromedp.Sleep(150*time.Millisecond))
		overflow := eval[int](tb, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
		if overflow > 0 {
			wide := eval[[]string](tb, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
				!(e.parentElement && e.parentElement.closest('.table-wrap'))).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`)
			tb.t.Errorf("%s at %d px: the page scrolls sideways by %d px; too wide: %v", name, w, overflow, wide)
		}
		ctx, cancel := context.WithTimeout(tb.ctx, e2eDeadline)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		require.NoError(tb.t, err)
		require.NoError(tb.t, os.WriteFile(filepath.Join(tb.c.shots, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644))
		tb.axe(fmt.Sprintf("%s-%d", name, w))
	}
	tb.do(chromedp.EmulateViewport(1440, 900))
}

// axeResult is what the test keeps of an axe-core run: the number of
// rules that passed and the violations.
type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core (WCAG 2.0/2.1 A and AA and best practices) in the
// page and fails on a serious or critical violation.
func (tb *tab) axe(name string) {
	tb.t.Helper()
	eval[chromedp.Void](tb, tb.c.axe)
	res := eval[axeResult](tb, `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
		.then(r => ({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))}))`)
	require.Positive(tb.t, res.Passes, "%s: axe-core ran no rule", name)
	tb.c.mu.Lock()
	tb.c.a11y[name] = res
	tb.c.mu.Unlock()
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Errorf("%s: accessibility violation %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel))
}

// finish writes a11y.json and checks the network log and the console.
func (c *chrome) finish(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.MarshalIndent(c.a11y, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(c.shots, "a11y.json"), b, 0o644))
	minor, passes := 0, 0
	for _, r := range c.a11y {
		minor += len(r.Violations)
		passes += r.Passes
	}
	t.Logf("axe-core: %d page views checked, %d rule passes, %d violations in all (a11y.json)", len(c.a11y), passes, minor)

	require.Greater(t, len(c.requests), 50, "the network log recorded too few requests")
	var foreign []string
	for _, raw := range c.requests {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			foreign = append(foreign, raw)
		case u.Scheme == "data":
		case u.Scheme == "blob":
			if inner, err := url.Parse(u.Opaque); err != nil || inner.Host != c.origin.Host {
				foreign = append(foreign, raw)
			}
		case (u.Scheme == "http" || u.Scheme == "ws") && u.Host == c.origin.Host:
		default:
			foreign = append(foreign, raw)
		}
	}
	assert.Empty(t, foreign, "requests that left the server's origin %s", c.origin.Host)
	assert.Empty(t, c.problems, "console errors")
	t.Logf("network log: %d requests and WebSockets, all to %s", len(c.requests), c.origin.Host)
}

// failingProvider is an OpenAI-compatible endpoint that always answers
// 500, so the agent gpt-4 fails and its circuit breaker opens.
func failingProvider(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"message":"upstream exploded","type":"server_error"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// createUser runs `aragora users create` on dataDir.
func createUser(t *testing.T, dataDir, email, role, password string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "ARAGORA_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	code := run(context.Background(), []string{"users", "create", "--email", email, "--role", role, "--password-stdin"},
		strings.NewReader(password+"\n"), &out, &errb, getenv)
	require.Equal(t, 0, code, "users create: %s %s", out.String(), errb.String())
}

// do sends a request as the local operator (or with bearer) and returns
// the status and body.
func (p *serverProc) do(t *testing.T, method, path, bearer, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.apiURL+path, strings.NewReader(body))
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitFile waits for a finished download named name.
func waitFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(e2eDeadline)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
			return b
		}
		require.True(t, time.Now().Before(deadline), "download %s did not arrive", name)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2EConsole signs in as the owner and as a member in headless
// Chromium and uses every page of the console against the real binary.
func TestE2EConsole(t *testing.T) {
	chromiumPath(t)
	fake := failingProvider(t)
	dir := t.TempDir()
	createUser(t, dir, ownerEmail, "owner", ownerPassword)
	createUser(t, dir, memberEmail, "member", memberPassword)
	p := startServer(t, dir, map[string]string{
		demoDelayEnv: "800", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.URL,
		"ARAGORA_CB_FAILURE_THRESHOLD": "1", "ARAGORA_CB_OPEN_SECONDS": "3600", "ARAGORA_AGENT_TIMEOUT_SECONDS": "5",
		"ARAGORA_RATE_LIMIT_DEBATE_RPM": "60",
	}, nil)

	// A debate with the failing agent opens its breaker; a dozen short
	// ones give the debate list a second page.
	p.createDebate(t, `{"topic":"Breaker: should gpt-4 join?","agents":["demo-analyst","demo-critic","gpt-4"],"rounds":1}`)
	for i := range 11 {
		p.createDebate(t, fmt.Sprintf(`{"topic":"Paging debate %d","agents":["demo-a","demo-b"],"rounds":1,"seed":%d}`, i, i))
	}
	deadline := time.Now().Add(e2eDeadline)
	for {
		var cbs map[string]struct {
			State string `json:"state"`
		}
		p.getJSON(t, "/api/agents/circuit-breakers", &cbs)
		if cbs["gpt-4"].State == "open" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the breaker of gpt-4 did not open: %v", cbs)
		time.Sleep(100 * time.Millisecond)
	}

	c := newChrome(t, p.apiURL)
	defer c.finish(t)

	owner := c.tab(t, "owner")
	t.Run("sign in as owner", func(t *testing.T) {
		owner.t = t
		owner.open("/admin")
		owner.wait(`location.pathname === '/login'`, "the redirect to the sign-in page")
		owner.capture("login")
		owner.signIn(ownerEmail, ownerPassword)
		owner.wait(`location.pathname === '/admin'`, "the way back to /admin")
	})

	t.Run("admin panels", func(t *testing.T) {
		owner.t = t
		// A revocation through the page fills the revoked-tokens panel.
		owner.wait(`document.getElementById('panel-revoked').dataset.state === 'ready'`, "the revoked tokens panel")
		owner.do(chromedp.SendKeys(chromedp.CSS("#revoke-id"), "tok_e2e_console_1"), chromedp.SendKeys(chromedp.CSS("#revoke-reason"), "browser test"))
		owner.press("#revoke-form [type=submit]")
		owner.wait(`document.querySelector('#panel-revoked').innerText.includes('tok_e2e_console_1')`, "the revoked token listed")

		owner.wait(`[...document.querySelectorAll('#admin .panel')].every(p => p.dataset.state === 'ready' || p.dataset.state === 'disabled')`,
			"every panel loaded")
		for _, id := range []string{"health", "ws", "agents", "ratelimits", "errors", "audit", "revoked"} {
			assert.Equal(t, "ready", eval[string](owner, fmt.Sprintf(`document.getElementById('panel-%s').dataset.state`, id)), id)
		}
		for _, id := range []string{"nomic", "webhooks"} {
			state := eval[string](owner, fmt.Sprintf(`document.getElementById('panel-%s').dataset.state`, id))
			if state == "disabled" {
				assert.Contains(t, owner.text("#panel-"+id), "Not enabled", id)
			} else {
				assert.Equal(t, "ready", state, id)
			}
		}
		assert.Contains(t, owner.text("#panel-health"), "healthy")
		assert.Contains(t, owner.text("#panel-health"), "ready")
		assert.Contains(t, owner.text("#panel-ws"), "connections")
		assert.Contains(t, owner.text("#panel-ratelimits"), "general")
		assert.Contains(t, owner.text("#panel-agents"), "gpt-4")
		assert.Positive(t, eval[int](owner, `document.querySelectorAll('#panel-audit tbody tr').length`))
		assert.Positive(t, eval[int](owner, `document.querySelectorAll('#panel-errors tbody tr').length`))

		// Filters: agent errors only; audit log paging.
		owner.do(chromedp.SetValue(chromedp.CSS("#errors-type"), "agent"))
		owner.press("#errors-filter [type=submit]")
		owner.wait(`[...document.querySelectorAll('#panel-errors tbody tr')].length > 0 &&
			[...document.querySelectorAll('#panel-errors tbody tr')].every(r => r.cells[1].innerText === 'agent')`, "agent errors only")
		assert.Contains(t, owner.text("#panel-errors"), "gpt-4")
		owner.do(chromedp.SetValue(chromedp.CSS("#audit-limit"), "10"))
		owner.press("#audit-filter [type=submit]")
		owner.wait(`document.querySelectorAll('#panel-audit tbody tr').length === 10 && !document.getElementById('audit-older').disabled`,
			"a full first audit page")
		first := owner.text("#panel-audit tbody")
		owner.press("#audit-older")
		owner.wait(`document.getElementById('audit-page').innerText === 'Page 2'`, "the second audit page")
		assert.NotEqual(t, first, owner.text("#panel-audit tbody"))
		owner.press("#audit-newer")
		owner.wait(`document.getElementById('audit-page').innerText === 'Page 1'`, "back to the first audit page")
		owner.do(chromedp.SetValue(chromedp.CSS("#audit-action"), "admin.revoke_token"))
		owner.press("#audit-filter [type=submit]")
		owner.wait(`[...document.querySelectorAll('#panel-audit tbody tr')].length > 0 &&
			[...document.querySelectorAll('#panel-audit tbody tr')].every(r => r.cells[2].innerText === 'admin.revoke_token')`, "the action filter")
		owner.capture("admin")
	})

	t.Run("reset a breaker", func(t *testing.T) {
		owner.t = t
		row := `document.querySelector('#panel-agents tr[data-agent-row="gpt-4"]')`
		owner.wait(row+` && `+row+`.innerText.includes('open')`, "gpt-4's open breaker")
		owner.press(`#panel-agents button[data-agent="gpt-4"]`)
		owner.wait(row+` && `+row+`.innerText.includes('closed')`, "gpt-4's breaker closed")
		assert.Contains(t, owner.text("#toast"), "open → closed")
		var cbs map[string]struct {
			State string `json:"state"`
		}
		p.getJSON(t, "/api/agents/circuit-breakers", &cbs)
		assert.Equal(t, "closed", cbs["gpt-4"].State)
	})

	t.Run("emergency mode", func(t *testing.T) {
		owner.t = t
		var cfg struct {
			Emergency bool `json:"emergency"`
			Classes   struct {
				General struct {
					EffectiveRPM int `json:"effective_rpm"`
				} `json:"general"`
			} `json:"classes"`
		}
		owner.press("#emergency-toggle")
		owner.confirm()
		owner.wait(`document.getElementById('emergency-state').innerText.includes('ON')`, "emergency mode on")
		p.getJSON(t, "/api/rate-limits/config", &cfg)
		assert.True(t, cfg.Emergency)
		assert.Equal(t, 12, cfg.Classes.General.EffectiveRPM)
		assert.Contains(t, owner.text("#panel-ratelimits"), "12")
		owner.press("#emergency-toggle")
		owner.wait(`document.getElementById('emergency-state').innerText === 'Emergency mode is off.'`, "emergency mode off")
		p.getJSON(t, "/api/rate-limits/config", &cfg)
		assert.False(t, cfg.Emergency)
		assert.Equal(t, 120, cfg.Classes.General.EffectiveRPM)
	})

	member := c.tab(t, "member")
	var debateID string
	t.Run("member is refused the admin console", func(t *testing.T) {
		member.t = t
		member.open("/admin")
		member.wait(`location.pathname === '/login'`, "the sign-in page")
		member.signIn(memberEmail, memberPassword)
		member.wait(`document.body.dataset.forbidden === 'true'`, "the 403 view")
		assert.Equal(t, "403 Forbidden", member.text("#forbidden h1"))
		assert.True(t, eval[bool](member, `document.getElementById('admin').hidden`))
		assert.False(t, eval[bool](member, `performance.getEntriesByType('resource').some(e => /\/api\/(system|admin)\//.test(e.name))`),
			"the 403 view called an admin API")
		member.capture("admin-forbidden")
	})

	t.Run("member portal and API key", func(t *testing.T) {
		member.t = t
		member.open("/portal")
		member.wait(`document.getElementById('panel-me').dataset.state === 'ready' && document.getElementById('panel-usage').dataset.state === 'ready'`,
			"the portal")
		assert.Contains(t, member.text("#panel-me"), memberEmail)
		assert.Contains(t, member.text("#panel-me"), "member")
		assert.Contains(t, member.text("#token-expiry"), "in ")
		member.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "browser-test"))
		member.press("#key-form [type=submit]")
		member.wait(`!document.getElementById('new-key').hidden && document.getElementById('new-key-value').value.startsWith('ara_')`,
			"the new key shown once")
		key := eval[string](member, `document.getElementById('new-key-value').value`)
		member.do(chromedp.Click(chromedp.CSS("#copy-key")))
		member.wait(`document.getElementById('copy-key').innerText === 'Copied'`, "the copy button")
		assert.Equal(t, key, eval[string](member, `navigator.clipboard.readText()`), "clipboard")

		// The key works like curl -H "Authorization: Bearer ara_…".
		code, body := p.do(t, "GET", "/api/auth/me", key, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		assert.Contains(t, string(body), `"method":"api_key"`)
		assert.Contains(t, string(body), memberEmail)
		member.wait(`document.getElementById('panel-key').innerText.includes('browser-test')`, "the key's details")
		member.capture("portal")

		member.press("#revoke-key")
		member.confirm()
		member.wait(`document.getElementById('panel-key').innerText.includes('You have no API key')`, "the key revoked")
		assert.True(t, eval[bool](member, `document.getElementById('new-key').hidden`), "the key is shown only once")
		code, body = p.do(t, "GET", "/api/auth/me", key, "")
		assert.Equal(t, http.StatusUnauthorized, code, "%s", body)
	})

	t.Run("member starts a debate and watches it live", func(t *testing.T) {
		member.t = t
		member.open("/debates")
		member.wait(`document.getElementById('panel-list').dataset.state === 'ready'`, "the debate list")
		member.do(
			chromedp.SendKeys(chromedp.CSS("#start-topic"), "Should the billing service move to Postgres?"),
			chromedp.SendKeys(chromedp.CSS("#start-agent-specs"), "demo-analyst, demo-critic, demo-judge"),
			chromedp.SetValue(chromedp.CSS("#start-rounds"), "3"),
			chromedp.SetValue(chromedp.CSS("#start-min_rounds"), "3"),
			chromedp.SetValue(chromedp.CSS("#start-consensus"), "majority"),
		)
		member.press("#start-form [type=submit]")
		member.wait(`location.pathname.startsWith('/debates/deb_')`, "the viewer of the new debate")
		debateID = eval[string](member, `location.pathname.slice('/debates/'.length)`)
		member.wait(`document.getElementById('stream-status').dataset.state === 'live' && document.querySelectorAll('#feed [data-seq]').length >= 4`,
			"the first events live")

		// Kill every WebSocket server side mid-debate (SIGUSR1: close 1012).
		var d debateView
		p.getJSON(t, "/api/debates/"+debateID, &d)
		require.False(t, finished(d), "the debate finished before the WebSocket was cut; raise %s", demoDelayEnv)
		before := eval[int](member, `document.querySelectorAll('#feed [data-seq]').length`)
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGUSR1))
		member.wait(`Number(document.getElementById('stream-status').dataset.reconnects) >= 1`, "the viewer to notice the cut")
		member.wait(`document.getElementById('stream-status').dataset.state === 'finished'`, "the verdict")
		var stats struct {
			LastReloadAt *string `json:"last_reload_at"`
		}
		p.getJSON(t, "/api/ws/stats", &stats)
		require.NotNil(t, stats.LastReloadAt, "SIGUSR1 did not close the WebSockets")

		d = p.waitDebate(t, debateID, "finished", finished)
		seqs := eval[[]int64](member, `[...document.querySelectorAll('#feed [data-seq]')].map(e => Number(e.dataset.seq))`)
		want := make([]int64, d.LastSeq)
		for i := range want {
			want[i] = int64(i + 1)
		}
		assert.Equal(t, want, seqs, "every event exactly once, in order, across the reconnect")
		assert.Greater(t, len(seqs), before, "events after the reconnect")
		var events struct {
			Events []struct {
				Seq  int64  `json:"seq"`
				Type string `json:"type"`
			} `json:"events"`
		}
		p.getJSON(t, "/api/debates/"+debateID+"/events?limit=1000", &events)
		types := eval[[]string](member, `[...document.querySelectorAll('#feed [data-seq]')].map(e => e.dataset.type)`)
		require.Len(t, types, len(events.Events))
		for i, e := range events.Events {
			assert.Equal(t, e.Type, types[i], "seq %d", e.Seq)
		}
		for _, ty := range []string{"proposal", "critique", "vote", "consensus_check", "debate_end"} {
			assert.Contains(t, types, ty)
		}
		assert.Contains(t, member.text("#feed .critique"), "severity")
		assert.Positive(t, eval[float64](member, `Number(document.getElementById('consensus-meter').value)`))
		assert.False(t, eval[bool](member, `document.getElementById('verdict').hidden`))
		assert.Contains(t, member.text("#verdict"), "Verdict")
		member.capture("debate")

		// Each receipt format, downloaded through the page, equals the API's.
		var rec struct {
			ReceiptID string `json:"receipt_id"`
		}
		p.getJSON(t, "/api/debates/"+debateID+"/receipt", &rec)
		for format, ext := range map[string]string{"json": "json", "markdown": "md", "html": "html"} {
			member.press(fmt.Sprintf(`[data-receipt="%s"]`, format))
			got := waitFile(t, c.downloads, rec.ReceiptID+"."+ext)
			code, want := p.get(t, "/api/debates/"+debateID+"/receipt?format="+format)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, string(want), string(got), format)
		}
		md, _ := os.ReadFile(filepath.Join(c.downloads, rec.ReceiptID+".md"))
		assert.True(t, strings.HasPrefix(string(md), "# Decision Receipt "+rec.ReceiptID), "%.60s", md)
		html, _ := os.ReadFile(filepath.Join(c.downloads, rec.ReceiptID+".html"))
		assert.Contains(t, strings.ToLower(string(html)), "<html")
	})

	t.Run("debate list, filter and paging", func(t *testing.T) {
		member.t = t
		member.open("/debates")
		member.wait(`document.getElementById('panel-list').dataset.state === 'ready'`, "the debate list")
		member.do(chromedp.SetValue(chromedp.CSS("#list-limit"), "10"))
		member.press("#list-filter [type=submit]")
		member.wait(`document.querySelectorAll('#panel-list tbody tr').length === 10 && !document.getElementById('list-older').disabled`,
			"a full first page")
		member.press("#list-older")
		member.wait(`document.getElementById('list-page').innerText === 'Page 2' && document.querySelectorAll('#panel-list tbody tr').length >= 3`,
			"the second page")
		member.press("#list-newer")
		member.wait(`document.getElementById('list-page').innerText === 'Page 1'`, "the first page again")
		// Only my debates: the member started one.
		member.toggle("#list-mine")
		member.press("#list-filter [type=submit]")
		member.wait(`document.querySelectorAll('#panel-list tbody tr').length === 1`, "the member's own debate")
		assert.Equal(t, debateID, eval[string](member, `document.querySelector('#panel-list tbody tr').dataset.debate`))
		member.toggle("#list-mine")
		// A status filter: nothing is running any more.
		member.toggle(`#list-filter input[value="running"]`)
		member.press("#list-filter [type=submit]")
		member.wait(`location.search.includes('status=running') && document.getElementById('panel-list').innerText.includes('No debate matches')`,
			"no running debate")
		member.toggle(`#list-filter input[value="running"]`)
		member.toggle(`#list-filter input[value="consensus_reached"]`)
		member.toggle(`#list-filter input[value="no_consensus"]`)
		member.press("#list-filter [type=submit]")
		member.wait(`document.querySelectorAll('#panel-list tbody tr').length > 0 &&
			[...document.querySelectorAll('#panel-list tbody tr')].every(r => ['consensus_reached', 'no_consensus'].includes(r.dataset.status))`,
			"finished debates only")
		member.capture("debates")

		// Usage now shows the member's debate as a chart.
		member.open("/portal")
		member.wait(`document.getElementById('panel-usage').dataset.state === 'ready'`, "the usage panel")
		assert.Positive(t, eval[int](member, `document.querySelectorAll('#panel-usage svg.chart g.bar rect').length`), "usage bars")
		assert.Contains(t, member.text("#panel-usage"), "demo")
	})

	t.Run("not found pages", func(t *testing.T) {
		member.t = t
		c.expect404("/api/debates/deb_does_not_exist", "/console/no-such-file")
		member.open("/debates/deb_does_not_exist")
		member.wait(`!document.getElementById('missing').hidden`, "the missing debate view")
		member.open("/console/no-such-file")
		member.wait(`document.querySelector('h1') && document.querySelector('h1').innerText === 'Page not found'`, "the 404 page")
		member.capture("not-found")
	})

	t.Run("sign out", func(t *testing.T) {
		member.t = t
		member.open("/portal")
		member.wait(`!document.getElementById('who').hidden`, "the header")
		tok := eval[string](member, `JSON.parse(sessionStorage.getItem('aragora.console.session')).access_token`)
		member.press("#logout")
		member.wait(`location.pathname === '/login' && sessionStorage.length === 0`, "the sign-in page")
		code, _ := p.do(t, "GET", "/api/auth/me", tok, "")
		assert.Equal(t, http.StatusUnauthorized, code, "the access token still works after signing out")
	})

	t.Run("revoke all tokens", func(t *testing.T) {
		owner.t = t
		owner.open("/admin")
		owner.wait(`document.getElementById('panel-revoked').dataset.state === 'ready'`, "the admin console")
		tok := eval[string](owner, `JSON.parse(sessionStorage.getItem('aragora.console.session')).access_token`)
		owner.do(chromedp.SendKeys(chromedp.CSS("#revoke-all-reason"), "browser test"))
		owner.press("#revoke-all-form [type=submit]")
		owner.confirm()
		owner.wait(`location.pathname === '/login' && document.getElementById('login-note').innerText.includes('revoked')`, "signed out")
		code, _ := p.do(t, "GET", "/api/auth/me", tok, "")
		assert.Equal(t, http.StatusUnauthorized, code)
	})

}

// TestE2EConsoleStreamResume runs the viewer's stream client
// (/console/js/stream.js) in Chromium against a fake WebSocket, a fake
// event log and a fake timer (testdata/stream_scenarios.js), for the
// paths a real server rarely takes: duplicated frames, a gap filled from
// the event log, a reset, a refused token, and the backoff schedule.
func TestE2EConsoleStreamResume(t *testing.T) {
	chromiumPath(t)
	h, err := console.New(console.Config{})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	script, err := os.ReadFile(filepath.Join("testdata", "stream_scenarios.js"))
	require.NoError(t, err)

	c := newChrome(t, srv.URL)
	tb := c.tab(t, "stream")
	tb.open("/login")
	tb.wait(`document.readyState === 'complete'`, "the page")
	type reconnect struct {
		RestartDelay  float64 `json:"restartDelay"`
		ResumeURL     string  `json:"resumeURL"`
		Delays        []float64
		Seen          []int64
		Finished      bool
		Closed        struct{ Code int }
		PendingTimers int `json:"pendingTimers"`
		Reconnects    int
		LastState     string `json:"lastState"`
	}
	var out struct {
		Duplicates struct {
			Seen      []int64
			Dropped   int
			URL       string
			Protocols []string
		}
		Gap struct {
			Seen    []int64
			Fetched []int64
			Filled  int
		}
		Reconnect reconnect
		Reset     struct {
			Resets int
			URL    string
		}
		Auth struct {
			Renewed, Sockets, Timers int
			Stopped                  bool
			States                   []string
		}
	}
	raw := eval[[]byte](tb, string(script))
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	host := strings.TrimPrefix(srv.URL, "http://")

	assert.Equal(t, []int64{1, 2, 3}, out.Duplicates.Seen)
	assert.Equal(t, 2, out.Duplicates.Dropped)
	assert.Equal(t, "ws://"+host+"/ws/debates/deb_x?after_seq=0", out.Duplicates.URL)
	assert.Equal(t, []string{"aragora.v1", "bearer.tok"}, out.Duplicates.Protocols)

	assert.Equal(t, []int64{1, 2, 3, 4, 5}, out.Gap.Seen)
	assert.Equal(t, []int64{1}, out.Gap.Fetched)
	assert.Equal(t, 2, out.Gap.Filled)

	r := out.Reconnect
	assert.Equal(t, 1000.0, r.RestartDelay, "after 1012: random 0-2 s")
	assert.Equal(t, "ws://"+host+"/ws/debates/deb_x?after_seq=2&epoch=e1", r.ResumeURL)
	assert.Equal(t, []float64{500, 500, 1000, 2000, 4000, 8000, 15000, 15000}, r.Delays, "full jitter over 0.5 s to 30 s")
	assert.Equal(t, []int64{1, 2, 3}, r.Seen)
	assert.True(t, r.Finished)
	assert.Equal(t, 1000, r.Closed.Code)
	assert.Zero(t, r.PendingTimers, "no reconnect after debate_end")
	assert.Equal(t, 9, r.Reconnects)
	assert.Equal(t, "finished", r.LastState)

	assert.Equal(t, 1, out.Reset.Resets)
	assert.Equal(t, "ws://"+host+"/ws/debates/deb_x?after_seq=0&epoch=e2", out.Reset.URL)

	assert.Equal(t, 1, out.Auth.Renewed)
	assert.Equal(t, 2, out.Auth.Sockets)
	assert.True(t, out.Auth.Stopped)
	assert.Zero(t, out.Auth.Timers)
	assert.Contains(t, out.Auth.States, "missing")

	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.problems, "console errors")
}
