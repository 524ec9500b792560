package validate

import (
	"path/filepath"
	"strings"
	"testing"
)

// kubeVersion is the cluster version helm template renders for: the oldest
// the chart supports (Chart.yaml kubeVersion, the runbook's 1.26+).
const kubeVersion = "1.26.0"

func helmChart(t *testing.T) (helm, chart string) {
	t.Helper()
	helm = requireTool(t, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.21.4")
	return helm, filepath.Join(repoRoot(t), "deploy", "helm", "aragora")
}

func TestHelmLint(t *testing.T) {
	helm, chart := helmChart(t)
	mustRun(t, "", nil, helm, "lint", "--strict", chart)
	mustRun(t, "", nil, helm, "lint", "--strict", chart, "-f", filepath.Join(chart, "values-production.yaml"))
}

func helmTemplate(t *testing.T, args ...string) objects {
	t.Helper()
	helm, chart := helmChart(t)
	out := mustRun(t, "", nil, helm, append([]string{"template", "aragora", chart, "--namespace", "aragora", "--kube-version", kubeVersion}, args...)...)
	return index(t, decodeAll(t, "helm template "+strings.Join(args, " "), strings.NewReader(out)))
}

func TestHelmTemplateWithDefaults(t *testing.T) {
	o := helmTemplate(t)
	checkObjects(t, o, expectations{image: "ghcr.io/aragora/aragora:v0.8.0", replicas: int32p(3),
		secretRefs: []string{"aragora-secrets"}, wantPDB: true})
	if o.hpa != nil || o.serviceMonitor != nil || o.ingress != nil || o.networkPolicy != nil || len(o.secrets) != 0 {
		t.Errorf("defaults render only the core objects, got %v", o.kinds)
	}
	if g := *o.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds; g != 40 {
		t.Errorf("terminationGracePeriodSeconds %d, want 5 + 25 + 10", g)
	}
}

// The runbook's values-production.yaml, verbatim.
func TestHelmTemplateWithRunbookProductionValues(t *testing.T) {
	_, chart := helmChart(t)
	o := helmTemplate(t, "-f", filepath.Join(chart, "values-production.yaml"))
	checkObjects(t, o, expectations{image: "ghcr.io/aragora/aragora:v1.0.0",
		secretRefs: []string{"aragora-secrets", "aragora-api-keys", "aragora-db-credentials"},
		wantHPA:    true, wantPDB: true, wantMonitor: true, monitorLabels: map[string]string{"release": "prometheus"}})
	if o.serviceMonitor.Spec.Endpoints[0].Interval != "15s" {
		t.Errorf("ServiceMonitor interval %q, want 15s", o.serviceMonitor.Spec.Endpoints[0].Interval)
	}
}

func TestHelmTemplateWithEverythingOn(t *testing.T) {
	o := helmTemplate(t, "--set", "ingress.enabled=true,networkPolicy.enabled=true,serviceMonitor.enabled=true,autoscaling.enabled=true",
		"--set", "secrets.create=true,secrets.stringData.ARAGORA_JWT_SECRET=0123456789abcdef0123456789abcdef",
		"--set", "config.ARAGORA_SHUTDOWN_TIMEOUT_SECONDS=60,config.ARAGORA_WS_MAX_CONNECTIONS=1000000,config.ARAGORA_CONSENSUS_THRESHOLD=0.75",
		"--set", "persistence.enabled=true,serviceAccount.create=true")
	checkObjects(t, o, expectations{image: "ghcr.io/aragora/aragora:v0.8.0", secretRefs: []string{"aragora-secrets"},
		wantHPA: true, wantPDB: true, wantMonitor: true, wantIngress: true, wantNetPolicy: true})
	if g := *o.deployment.Spec.Template.Spec.TerminationGracePeriodSeconds; g != 75 {
		t.Errorf("terminationGracePeriodSeconds %d, want 5 + 60 + 10: it follows the shutdown budget", g)
	}
	if len(o.secrets) != 1 || o.secrets[0].StringData["ARAGORA_JWT_SECRET"] == "" {
		t.Errorf("secrets.create renders the Secret: %+v", o.secrets)
	}
	cfg := o.configMap.Data
	if cfg["ARAGORA_WS_MAX_CONNECTIONS"] != "1000000" || cfg["ARAGORA_CONSENSUS_THRESHOLD"] != "0.75" {
		t.Errorf("numbers must reach the ConfigMap as written: %q %q", cfg["ARAGORA_WS_MAX_CONNECTIONS"], cfg["ARAGORA_CONSENSUS_THRESHOLD"])
	}
}

// values.schema.json refuses what would break the server or leak a secret.
func TestHelmSchemaRejectsBadValues(t *testing.T) {
	helm, chart := helmChart(t)
	for _, bad := range []string{
		"config.ARAGORA_JWT_SECRET=0123456789abcdef0123456789abcdef", // a secret in the ConfigMap
		"config.ARAGORA_ENV=prod",
		"config.ARAGORA_LOG_LEVEL=verbose",
		"config.ARAGORA_DB_POOL_SIZE=0",
		"config.ARAGORA_TYPO=1",
		"replicaCount=-1",
		"image.pullPolicy=Sometimes",
		"autoscaling.targetCPUUtilizationPercentage=170",
		"secrets.stringData.ARAGORA_ENV=production", // not a secret
	} {
		out, err := run(t, "", nil, helm, "template", "aragora", chart, "--kube-version", kubeVersion, "--set", bad)
		if err == nil {
			t.Errorf("--set %s rendered; want a schema error", bad)
		} else if !strings.Contains(out, "schema") {
			t.Errorf("--set %s: want a schema error, got %s", bad, out)
		}
	}
}
