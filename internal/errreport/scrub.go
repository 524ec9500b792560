package errreport

import (
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/getsentry/sentry-go"
)

// Filtered replaces every scrubbed value.
const Filtered = "[Filtered]"

// sensitiveKey matches header, query and attribute names whose values are
// credentials: authorization, cookies, tokens, secrets, passwords, keys and
// DSNs, however prefixed (bootstrap_token, X-Api-Key, ARAGORA_JWT_SECRET).
var sensitiveKey = regexp.MustCompile(`(?i)(^|[_.-])(authorization|proxy-authorization|cookie|set-cookie|token|access_token|refresh_token|id_token|secret|password|passwd|pwd|api[_-]?key|key|dsn|signature|credentials?|session)$`)

// secretPatterns match credentials inside free text: an error message that
// quotes a header, a URL with a password, a provider key.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// "Bearer abc", "Basic abc"
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}`), "$1 " + Filtered},
	// a JWT (three base64url parts, the first a JSON header)
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), Filtered},
	// user:password@ in a URL
	{regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]+@`), "${1}" + Filtered + "@"},
	// key=value / "key": "value" for credential names
	{regexp.MustCompile(`(?i)((?:api[_-]?key|access_token|refresh_token|token|secret|password|passwd|authorization|dsn)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+`), "${1}" + Filtered},
	// provider and webhook keys by their prefixes
	{regexp.MustCompile(`\b(?:sk-(?:ant-|proj-|or-)?[A-Za-z0-9_-]{8,}|whsec_[A-Za-z0-9+/=_-]{8,}|xai-[A-Za-z0-9_-]{8,}|AIza[A-Za-z0-9_-]{20,})`), Filtered},
}

// scrubber removes secrets from events.
type scrubber struct {
	literal *strings.Replacer // the configured secret values; nil: none
}

func newScrubber(secrets []string) *scrubber {
	var uniq []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= 8 && !seen[s] {
			seen[s] = true
			uniq = append(uniq, s)
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(uniq, func(i, j int) bool { return len(uniq[i]) > len(uniq[j]) })
	sc := &scrubber{}
	if len(uniq) > 0 {
		pairs := make([]string, 0, 2*len(uniq))
		for _, s := range uniq {
			pairs = append(pairs, s, Filtered)
		}
		sc.literal = strings.NewReplacer(pairs...)
	}
	return sc
}

// text scrubs free text.
func (sc *scrubber) text(s string) string {
	if s == "" {
		return s
	}
	if sc.literal != nil {
		s = sc.literal.Replace(s)
	}
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// pair scrubs a named value: the whole value when the name is sensitive.
func (sc *scrubber) pair(k, v string) string {
	if sensitiveKey.MatchString(k) && v != "" {
		return Filtered
	}
	return sc.text(v)
}

func (sc *scrubber) strMap(m map[string]string) {
	for k, v := range m {
		m[k] = sc.pair(k, v)
	}
}

func (sc *scrubber) anyValue(k string, v any) any {
	switch x := v.(type) {
	case string:
		return sc.pair(k, x)
	case map[string]any:
		for kk, vv := range x {
			x[kk] = sc.anyValue(kk, vv)
		}
		return x
	case map[string]string:
		sc.strMap(x)
		return x
	case []any:
		for i, vv := range x {
			x[i] = sc.anyValue(k, vv)
		}
		return x
	case []string:
		for i, vv := range x {
			x[i] = sc.pair(k, vv)
		}
		return x
	}
	return v
}

// query scrubs a raw query string, parameter by parameter.
func (sc *scrubber) query(raw string) string {
	if raw == "" {
		return raw
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return sc.text(raw)
	}
	for k, vs := range vals {
		for i, v := range vs {
			vs[i] = sc.pair(k, v)
		}
	}
	return vals.Encode()
}

// event scrubs every string of e that could carry a secret.
func (sc *scrubber) event(e *sentry.Event) {
	e.Message = sc.text(e.Message)
	e.Transaction = sc.text(e.Transaction)
	for i := range e.Exception {
		e.Exception[i].Value = sc.text(e.Exception[i].Value)
	}
	for i, f := range e.Fingerprint {
		e.Fingerprint[i] = sc.text(f)
	}
	sc.strMap(e.Tags)
	for _, c := range e.Contexts {
		for k, v := range c {
			c[k] = sc.anyValue(k, v)
		}
	}
	for _, b := range e.Breadcrumbs {
		b.Message = sc.text(b.Message)
		for k, v := range b.Data {
			b.Data[k] = sc.anyValue(k, v)
		}
	}
	if r := e.Request; r != nil {
		if u, err := url.Parse(r.URL); err == nil {
			u.User = nil
			u.RawQuery = sc.query(u.RawQuery)
			r.URL = sc.text(u.String())
		} else {
			r.URL = sc.text(r.URL)
		}
		r.QueryString = sc.query(r.QueryString)
		r.Data = sc.text(r.Data)
		if r.Cookies != "" {
			r.Cookies = Filtered
		}
		sc.strMap(r.Headers)
		sc.strMap(r.Env)
	}
	e.User = sentry.User{} // never sent: the API knows principals, Sentry need not
}

// credentialSuffixes are the variable-name endings whose values are
// secrets (the same rule as the nomic sandbox's scrubbed environment).
var credentialSuffixes = []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_DSN"}

// SecretsFromEnv returns the secret values of an environment in
// os.Environ form: every variable whose name ends in _KEY, _TOKEN,
// _SECRET, _PASSWORD or _DSN, and the password of every *_URL value with
// one (ARAGORA_DATABASE_URL, ARAGORA_REDIS_URL). Pass it as
// Config.Secrets.
func SecretsFromEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		for _, suf := range credentialSuffixes {
			if strings.HasSuffix(k, suf) {
				out = append(out, v)
			}
		}
		if strings.HasSuffix(k, "_URL") {
			for _, one := range strings.Split(v, ",") {
				if u, err := url.Parse(strings.TrimSpace(one)); err == nil && u.User != nil {
					if pw, ok := u.User.Password(); ok {
						out = append(out, pw)
					}
				}
			}
		}
	}
	return out
}
