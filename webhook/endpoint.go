package webhook

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Endpoint sources.
const (
	SourceEnv = "env" // from WEBHOOK_URL; ids env-1, env-2, …
	SourceAPI = "api" // registered through the API; ids wh_…
)

// EndpointIDPrefix starts the ids of API-registered endpoints.
const EndpointIDPrefix = "wh_"

// AllEvents in Endpoint.Events subscribes to every event type.
const AllEvents = "*"

// Endpoint is a destination of webhook deliveries.
type Endpoint struct {
	ID     string
	Source string // SourceEnv or SourceAPI
	URL    string
	// Secret is the whsec_ signing secret; "" sends no signature (only
	// WEBHOOK_URL endpoints without ARAGORA_WEBHOOK_SECRET). A [Worker]
	// with Config.SecretKey stores it sealed.
	Secret string
	// Events are the subscribed event types, or [AllEvents].
	Events      []string
	Description string
	CreatedAt   time.Time
	// DisabledAt is when the endpoint was disabled (an answer 410 Gone);
	// zero while it is active. Disabled endpoints get no deliveries.
	DisabledAt     time.Time
	DisabledReason string

	secretErr error // a stored secret that could not be opened
}

// Wants reports whether e subscribes to eventType. A webhook.test message
// goes only to the endpoint it names (see [Worker.Test]), whatever Events
// says.
func (e *Endpoint) Wants(eventType string) bool {
	return eventType != EventTest && (slices.Contains(e.Events, AllEvents) || slices.Contains(e.Events, eventType))
}

// Disabled reports whether e is disabled.
func (e *Endpoint) Disabled() bool { return !e.DisabledAt.IsZero() }

// EnvEndpoints builds the endpoints of WEBHOOK_URL: list is comma-separated
// URLs (blank entries ignored), each checked with g.CheckURL, with ids
// env-1, env-2, … in order, every event, and secret (a whsec_ secret, or
// "" for unsigned deliveries). Errors name the variable and the entry.
func EnvEndpoints(list, secret string, g Guard) ([]Endpoint, error) {
	if secret != "" {
		if _, err := ParseSecret(secret); err != nil {
			return nil, fmt.Errorf("config: ARAGORA_WEBHOOK_SECRET: %w", err)
		}
	}
	g.RequireHTTPS = false // operators choose their own transport for configured URLs
	var out []Endpoint
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		n := len(out) + 1
		if _, err := g.CheckURL(raw); err != nil {
			return nil, fmt.Errorf("config: WEBHOOK_URL entry %d: %w", n, err)
		}
		out = append(out, Endpoint{ID: "env-" + strconv.Itoa(n), Source: SourceEnv, URL: raw, Secret: secret,
			Events: []string{AllEvents}})
	}
	return out, nil
}

// Redact returns u without its query string and fragment, for display:
// Slack- and Discord-style URLs carry their secret in the path, so callers
// still show it only to admins. An unparsable URL gives "".
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment, p.User = "", false, "", "", nil
	return p.String()
}
