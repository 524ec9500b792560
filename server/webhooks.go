package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/webhook"
)

// Webhooks is the webhook delivery service behind /api/webhooks
// (docs/webhooks.md); *webhook.Worker implements it. With Config.Webhooks
// nil those routes do not exist (404 not_found).
type Webhooks interface {
	// Status returns the endpoints, the queue and the worker.
	Status(ctx context.Context) (webhook.Status, error)
	// Queue returns the outbox statistics.
	Queue(ctx context.Context) (webhook.Queue, error)
	// RetryFailed requeues dead-lettered deliveries of endpointID (""
	// for all), at most max (<= 0: all).
	RetryFailed(ctx context.Context, endpointID string, max int) (requeued, skipped int, err error)
	// Endpoints lists every endpoint.
	Endpoints(ctx context.Context) ([]webhook.EndpointStatus, error)
	// CreateEndpoint registers an endpoint and returns it with its secret.
	CreateEndpoint(ctx context.Context, spec webhook.EndpointSpec) (*webhook.Endpoint, error)
	// DeleteEndpoint deletes a registered endpoint.
	DeleteEndpoint(ctx context.Context, id string) error
	// Test queues a webhook.test event for one endpoint.
	Test(ctx context.Context, id, correlationID string) (messageID string, err error)
}

var _ Webhooks = (*webhook.Worker)(nil)

// webhookRoutes are the routes of /api/webhooks with their roles.
func (s *Server) webhookRoutes() []route {
	return []route{
		{"GET /api/webhooks/status", auth.RoleViewer, "general", s.handleWebhookStatus},
		{"GET /api/webhooks/queue", auth.RoleViewer, "general", s.handleWebhookQueue},
		{"POST /api/webhooks/retry-failed", auth.RoleAdmin, "general", s.handleWebhookRetry},
		{"GET /api/webhooks/endpoints", auth.RoleAdmin, "general", s.handleWebhookEndpoints},
		{"POST /api/webhooks/endpoints", auth.RoleAdmin, "general", s.handleWebhookCreate},
		{"DELETE /api/webhooks/endpoints/{id}", auth.RoleAdmin, "general", s.handleWebhookDelete},
		{"POST /api/webhooks/endpoints/{id}/test", auth.RoleAdmin, "general", s.handleWebhookTest},
	}
}

// webhookEndpointView is an endpoint as the API shows it: url redacted (no
// query string) for admins and null for other roles, since Slack- and
// Discord-style URLs carry their secret.
type webhookEndpointView struct {
	webhook.EndpointStatus
	URL *string `json:"url"`
}

func endpointView(es webhook.EndpointStatus, admin bool) webhookEndpointView {
	v := webhookEndpointView{EndpointStatus: es}
	if admin {
		u := webhook.Redact(es.URL)
		v.URL = &u
	}
	if v.Events == nil {
		v.Events = []string{}
	}
	return v
}

func adminRequest(r *http.Request) bool {
	p := infoFrom(r.Context()).principal
	return p != nil && auth.Role(p.Role).AtLeast(auth.RoleAdmin)
}

func (s *Server) handleWebhookStatus(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	if !s.noQueryOr(w, r) {
		return
	}
	st, err := wh.Status(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	admin := adminRequest(r)
	eps := make([]webhookEndpointView, 0, len(st.Endpoints))
	for _, es := range st.Endpoints {
		eps = append(eps, endpointView(es, admin))
	}
	writeJSON(w, http.StatusOK, map[string]any{"enabled": st.Enabled, "endpoints": eps, "queue": st.Queue, "worker": st.Worker})
}

func (s *Server) handleWebhookQueue(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	if !s.noQueryOr(w, r) {
		return
	}
	q, err := wh.Queue(r.Context())
	s.replyOK(w, r, q, err)
}

func (s *Server) handleWebhookRetry(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	var req struct {
		EndpointID *string `json:"endpoint_id"`
		Max        *int    `json:"max"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	var id string
	limit := 0
	if req.EndpointID != nil {
		id = *req.EndpointID
		if !pathIDRE.MatchString(id) {
			s.writeError(w, r, validation(map[string]string{"endpoint_id": "must be an endpoint id (env-1, wh_…)"}))
			return
		}
	}
	if req.Max != nil {
		if *req.Max < 1 {
			s.writeError(w, r, validation(map[string]string{"max": "must be at least 1"}))
			return
		}
		limit = *req.Max
	}
	requeued, skipped, err := wh.RetryFailed(r.Context(), id, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, func(a *auditState) {
		a.target = id
		a.details = map[string]any{"requeued": requeued, "skipped": skipped}
	})
	writeJSON(w, http.StatusOK, map[string]int{"requeued": requeued, "skipped": skipped})
}

func (s *Server) handleWebhookEndpoints(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	if !s.noQueryOr(w, r) {
		return
	}
	list, err := wh.Endpoints(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	eps := make([]webhookEndpointView, 0, len(list))
	for _, es := range list {
		eps = append(eps, endpointView(es, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": eps})
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	var req struct {
		URL         *string  `json:"url"`
		Events      []string `json:"events"`
		Description string   `json:"description"`
	}
	if !s.decodeOr(w, r, &req) {
		return
	}
	if req.URL == nil || strings.TrimSpace(*req.URL) == "" {
		s.writeError(w, r, validation(map[string]string{"url": "required"}))
		return
	}
	e, err := wh.CreateEndpoint(r.Context(), webhook.EndpointSpec{URL: *req.URL, Events: req.Events, Description: req.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created := e.CreatedAt
	v := endpointView(webhook.EndpointStatus{ID: e.ID, Source: e.Source, URL: e.URL, Events: e.Events, Description: e.Description,
		State: webhook.EndpointActive, CreatedAt: &created}, true)
	setAudit(r, func(a *auditState) {
		a.target = e.ID
		a.details = map[string]any{"events": e.Events}
	})
	w.Header().Set("Location", "/api/webhooks/endpoints/"+e.ID)
	writeJSON(w, http.StatusCreated, struct {
		webhookEndpointView
		Secret string `json:"secret"`
	}{v, e.Secret})
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	id := r.PathValue("id")
	if !pathIDRE.MatchString(id) {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such endpoint"))
		return
	}
	if err := wh.DeleteEndpoint(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) {
	wh := s.cfg.Webhooks
	var body struct{}
	if !s.decodeOr(w, r, &body) {
		return
	}
	id := r.PathValue("id")
	if !pathIDRE.MatchString(id) {
		s.writeError(w, r, apiErr(http.StatusNotFound, "not_found", "no such endpoint"))
		return
	}
	msgID, err := wh.Test(r.Context(), id, CorrelationID(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setAudit(r, func(a *auditState) { a.details = map[string]any{"message_id": msgID} })
	writeJSON(w, http.StatusAccepted, map[string]string{"message_id": msgID})
}
