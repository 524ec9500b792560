package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// ruleFile is the shape of deploy/prometheus/alerts.yml.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(b, &rf); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	return rf
}

// query is one PromQL expression of a rule or a dashboard panel.
type query struct {
	source string // "alert HighErrorRate", "panel Requests by route"
	expr   string
}

// selector is one vector selector a query reads, as PromQL text.
type selector struct {
	source string
	text   string // e.g. aragora_http_requests_total{code=~"5..",job="aragora"}
	metric string
}

func alertQueries(t *testing.T) []query {
	var qs []query
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{source: "alert " + r.Alert, expr: r.Expr})
		}
	}
	return qs
}

// dashboardQueries returns every expression of deploy/grafana/aragora.json
// (panels, rows' panels, template variables), with Grafana's variables
// replaced by values PromQL accepts.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "aragora.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("aragora.json: %v", err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h", "$instance", ".*", "${instance}", ".*")
	var qs []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs = append(qs, query{source: "panel " + p.Title, expr: vars.Replace(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*[a-z_]+\)$`)
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, query{source: "variable " + v.Name, expr: m[1]})
		}
	}
	return qs
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// selectorsOf parses each query and returns its vector selectors.
func selectorsOf(t *testing.T, qs []query) []selector {
	t.Helper()
	var out []selector
	for _, q := range qs {
		e, err := parser.NewParser(parser.Options{}).ParseExpr(q.expr)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", q.source, q.expr, err)
			continue
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				vs.OriginalOffset, vs.Offset = 0, 0
				out = append(out, selector{source: q.source, text: vs.String(), metric: vs.Name})
			}
			return nil
		})
	}
	return out
}

func TestAlertRulesAreTheShippedGroup(t *testing.T) {
	rf := loadRules(t)
	if len(rf.Groups) != 1 || rf.Groups[0].Name != "aragora" {
		t.Fatalf("want one rule group named aragora")
	}
	deploy, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(deploy), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))] = true
		}
	}
	var names []string
	for _, r := range rf.Groups[0].Rules {
		names = append(names, r.Alert)
		if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
			t.Errorf("%s: severity %q", r.Alert, sev)
		}
		if r.For == "" {
			t.Errorf("%s: no for", r.Alert)
		}
		u := r.Annotations["runbook_url"]
		anchor := u[strings.LastIndex(u, "#")+1:]
		if !strings.Contains(u, "docs/DEPLOY.md#") || !anchors[anchor] || anchor != strings.ToLower(r.Alert) {
			t.Errorf("%s: runbook_url %q must point at its section in docs/DEPLOY.md", r.Alert, u)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: summary and description annotations required", r.Alert)
		}
	}
	sort.Strings(names)
	want := []string{"AgentQuotaExhausted", "AragoraDown", "CircuitBreakerOpen", "DatabaseConnectionPoolExhausted", "DebatesStuck",
		"HighErrorRate", "HighMemoryUsage", "NomicHighFailureRate", "NomicLoopStuck", "PostgreSQLDown", "RedisDown",
		"StoreNotWritable", "TLSCertificateExpired", "TLSCertificateExpiringSoon", "WebSocketConnectionsHigh", "WebhookQueueGrowing"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("alerts %v, want %v", names, want)
	}
}

func TestPromtoolChecksRulesAndConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "apt-get install prometheus")
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	t.Log(mustRun(t, dir, nil, promtool, "check", "rules", "alerts.yml"))
	t.Log(mustRun(t, dir, nil, promtool, "check", "config", "prometheus.yml"))
}

// Every query of the alert rules and the dashboard parses, and every
// selector names a metric of the server (aragora_*, go_*, process_*, up)
// or of the blackbox exporter (probe_*).
func TestQueriesParseAndNameKnownMetrics(t *testing.T) {
	sels := selectorsOf(t, append(alertQueries(t), dashboardQueries(t)...))
	if len(sels) < 60 {
		t.Errorf("only %d selectors: did the dashboard lose panels?", len(sels))
	}
	known := regexp.MustCompile(`^(aragora_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up|probe_[a-z0-9_]+)$`)
	for _, s := range sels {
		if !known.MatchString(s.metric) {
			t.Errorf("%s: unknown metric %q in %s", s.source, s.metric, s.text)
		}
	}
}
