// api.js: the console's session and its calls to the Aragora HTTP API.
//
// The token pair lives in this tab's sessionStorage (see the package
// documentation of console and docs/console.md): readable only by scripts
// of this origin, never sent by the browser on its own. Every call adds
// the Authorization header itself and sends no cookies.

const STORE = 'aragora.console.session';
const RENEW_BEFORE_MS = 60 * 1000;

// APIError is a failed call: the HTTP status and the API's error object.
export class APIError extends Error {
  constructor(status, body, retryAfter) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.name = 'APIError';
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'http_' + status);
    this.details = e.details || {};
    this.correlationID = e.correlation_id || '';
    this.retryAfter = retryAfter;
  }
}

// session returns the stored session, or null.
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    return s && s.access_token ? s : null;
  } catch {
    return null;
  }
}

// saveSession stores a token pair from login, refresh or password change.
export function saveSession(pair, user) {
  const now = Date.now();
  const old = session() || {};
  const s = {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    access_expires_at: now + (pair.expires_in || 900) * 1000,
    refresh_expires_at: now + (pair.refresh_expires_in || 0) * 1000,
    user: user || old.user || null,
  };
  sessionStorage.setItem(STORE, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(STORE);
}

// loginURL is the sign-in page that returns to the current page.
export function loginURL(reason) {
  const q = new URLSearchParams({ next: location.pathname + location.search });
  if (reason) q.set('reason', reason);
  return '/login?' + q.toString();
}

// signedOut forgets the session and goes to the sign-in page.
export function signedOut(reason) {
  clearSession();
  location.assign(loginURL(reason));
}

async function parse(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

let renewing = null;

// renew exchanges the refresh token for a new pair, once at a time.
export function renew() {
  if (!renewing) {
    renewing = (async () => {
      const s = session();
      if (!s || !s.refresh_token) throw new APIError(401, { error: { code: 'unauthorized', message: 'not signed in' } });
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
        credentials: 'omit',
        cache: 'no-store',
      });
      const body = await parse(res);
      if (!res.ok) throw new APIError(res.status, body, res.headers.get('Retry-After'));
      return saveSession(body);
    })().finally(() => {
      renewing = null;
    });
  }
  return renewing;
}

// accessToken returns a token valid for at least a minute, renewing it
// when needed; null when not signed in.
export async function accessToken() {
  let s = session();
  if (!s) return null;
  if (s.access_expires_at - Date.now() < RENEW_BEFORE_MS && s.refresh_token) {
    try {
      s = await renew();
    } catch (err) {
      if (err.status === 401) {
        signedOut('expired');
        throw err;
      }
      // A transient failure: try with the current token.
    }
  }
  return s.access_token;
}

// request calls the API and returns the Response (any status). opts:
// method, body (JSON-encoded), headers, auth (default true).
export async function request(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.auth !== false) {
    const tok = await accessToken();
    if (tok) headers.Authorization = 'Bearer ' + tok;
  }
  const init = {
    method: opts.method || 'GET',
    headers,
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new APIError(0, { error: { code: 'network', message: 'the server did not answer (' + err.message + ')' } });
  }
  if (res.status === 401 && opts.auth !== false && !opts.retried) {
    const body = await parse(res.clone());
    const code = body && body.error && body.error.code;
    if (code === 'token_expired' && session()) {
      await renew();
      return request(path, Object.assign({}, opts, { retried: true }));
    }
  }
  return res;
}

// api calls the API and returns the decoded body, throwing APIError for
// any status outside 2xx. A 401 means the session is gone: it signs out.
export async function api(path, opts = {}) {
  const res = await request(path, opts);
  const body = await parse(res);
  if (res.ok) return body;
  const err = new APIError(res.status, body, res.headers.get('Retry-After'));
  if (res.status === 401 && opts.auth !== false && !opts.keepSession) {
    signedOut(err.code === 'token_revoked' ? 'revoked' : 'expired');
  }
  if (res.status === 403 && err.code === 'password_change_required') {
    location.assign('/login?reason=password');
  }
  throw err;
}

// apiWithLink is api for lists: it also returns the next-page cursor of
// the Link header (rel="next"), or null.
export async function apiWithLink(path) {
  const res = await request(path);
  const body = await parse(res);
  if (!res.ok) {
    const err = new APIError(res.status, body, res.headers.get('Retry-After'));
    if (res.status === 401) signedOut('expired');
    throw err;
  }
  return { body, next: nextCursor(res.headers.get('Link')) };
}

// nextCursor reads the cursor of a Link header's rel="next" target.
export function nextCursor(link) {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = part.match(/<([^>]*)>\s*;\s*rel="?next"?/);
    if (m) {
      const u = new URL(m[1], location.origin);
      return u.searchParams.get('cursor');
    }
  }
  return null;
}

// logout deny-lists the session's tokens and forgets them.
export async function logout() {
  const s = session();
  if (s) {
    try {
      await request('/api/auth/logout', { method: 'POST', body: { refresh_token: s.refresh_token } });
    } catch {
      // Signing out locally is what matters to the user.
    }
  }
  clearSession();
  location.assign('/login?reason=signed_out');
}

// me returns GET /api/auth/me, redirecting to the sign-in page without
// a session.
export async function me() {
  if (!session()) {
    location.replace(loginURL());
    return new Promise(() => {}); // the page is going away
  }
  const m = await api('/api/auth/me');
  const s = session();
  if (s) {
    s.user = m.user;
    sessionStorage.setItem(STORE, JSON.stringify(s));
  }
  return m;
}

const ranks = { viewer: 1, member: 2, admin: 3, owner: 4 };

// atLeast reports whether role includes want (owner > admin > member > viewer).
export function atLeast(role, want) {
  return (ranks[role] || 0) >= ranks[want];
}

// idempotencyKey returns a fresh Idempotency-Key for a POST.
// (getRandomValues works outside secure contexts too, unlike randomUUID.)
export function idempotencyKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return 'console-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
