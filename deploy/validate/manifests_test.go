package validate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// strictDecoder decodes the kinds we ship, failing on unknown and
// duplicate fields.
var strictDecoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeAll decodes every YAML document of r (source names it in errors).
func decodeAll(t *testing.T, source string, r io.Reader) []runtime.Object {
	t.Helper()
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []runtime.Object
	for i := 0; ; i++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", source, i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			t.Errorf("%s: document %d: strict decoding failed: %v\n%s", source, i, err, doc)
			continue
		}
		if gvk.Kind == "" {
			t.Errorf("%s: document %d has no kind", source, i)
		}
		out = append(out, obj)
	}
	return out
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") || t == "---" {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes()
}

// objects indexes decoded objects by kind.
type objects struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	configMap      *corev1.ConfigMap
	secrets        []*corev1.Secret
	namespace      *corev1.Namespace
	ingress        *networkingv1.Ingress
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	pdb            *policyv1.PodDisruptionBudget
	serviceMonitor *monitoringv1.ServiceMonitor
	networkPolicy  *networkingv1.NetworkPolicy
	kinds          []string
}

func index(t *testing.T, objs []runtime.Object) objects {
	t.Helper()
	var o objects
	for _, obj := range objs {
		switch x := obj.(type) {
		case *appsv1.Deployment:
			o.deployment = x
		case *corev1.Service:
			o.service = x
		case *corev1.ConfigMap:
			o.configMap = x
		case *corev1.Secret:
			o.secrets = append(o.secrets, x)
		case *corev1.Namespace:
			o.namespace = x
		case *networkingv1.Ingress:
			o.ingress = x
		case *autoscalingv2.HorizontalPodAutoscaler:
			o.hpa = x
		case *policyv1.PodDisruptionBudget:
			o.pdb = x
		case *monitoringv1.ServiceMonitor:
			o.serviceMonitor = x
		case *networkingv1.NetworkPolicy:
			o.networkPolicy = x
		case *corev1.ServiceAccount:
		case *corev1.PersistentVolumeClaim:
		default:
			t.Errorf("unexpected object %T", obj)
		}
		o.kinds = append(o.kinds, obj.GetObjectKind().GroupVersionKind().Kind)
	}
	sort.Strings(o.kinds)
	return o
}

// expectations are what the operations rely on (the runbook's kubectl
// lines, the alert rules' job label, the shutdown sequence).
type expectations struct {
	namespace     string // "" for helm output (the release namespace)
	image         string
	replicas      *int32 // nil: managed by the HPA
	secretRefs    []string
	wantHPA       bool
	wantPDB       bool
	wantMonitor   bool
	monitorLabels map[string]string
	wantIngress   bool
	wantNetPolicy bool
}

func errorf(t *testing.T, format string, args ...any) { t.Helper(); t.Errorf(format, args...) }

func checkObjects(t *testing.T, o objects, want expectations) {
	t.Helper()
	const name = "aragora"
	ns := func(got string, what string) {
		if want.namespace != "" && got != want.namespace {
			errorf(t, "%s: namespace %q, want %q", what, got, want.namespace)
		}
	}
	// Deployment: kubectl ... deployment/aragora, -l app=aragora, set image aragora=...
	d := o.deployment
	if d == nil {
		t.Fatal("no Deployment")
	}
	ns(d.Namespace, "Deployment")
	if d.Name != name {
		errorf(t, "Deployment name %q, want %q (kubectl ... deployment/aragora)", d.Name, name)
	}
	if d.Spec.Template.Labels["app"] != name || d.Spec.Selector.MatchLabels["app"] != name {
		errorf(t, "pods must carry app=aragora (kubectl logs -l app=aragora): %v", d.Spec.Template.Labels)
	}
	if want.replicas == nil && d.Spec.Replicas != nil {
		errorf(t, "replicas %d set although the HPA manages them", *d.Spec.Replicas)
	}
	if want.replicas != nil && (d.Spec.Replicas == nil || *d.Spec.Replicas != *want.replicas) {
		errorf(t, "replicas %v, want %d", d.Spec.Replicas, *want.replicas)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name != name {
		errorf(t, "container %q, want %q (kubectl set image deployment/aragora aragora=...)", c.Name, name)
	}
	if c.Image != want.image {
		errorf(t, "image %q, want %q", c.Image, want.image)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 8080 || ports["websocket"] != 8766 {
		errorf(t, "container ports %v, want http 8080 and websocket 8766", ports)
	}
	// Resources as the runbook's manifest.
	res := c.Resources
	for _, q := range []struct {
		what      string
		got, want resource.Quantity
	}{
		{"requests.memory", res.Requests[corev1.ResourceMemory], resource.MustParse("512Mi")},
		{"requests.cpu", res.Requests[corev1.ResourceCPU], resource.MustParse("500m")},
		{"limits.memory", res.Limits[corev1.ResourceMemory], resource.MustParse("2Gi")},
		{"limits.cpu", res.Limits[corev1.ResourceCPU], resource.MustParse("2")},
	} {
		if q.got.Cmp(q.want) != 0 {
			errorf(t, "resources.%s = %s, want %s", q.what, q.got.String(), q.want.String())
		}
	}
	// Probes: the paths the server serves.
	probe := func(p *corev1.Probe, path, what string) {
		if p == nil || p.HTTPGet == nil {
			errorf(t, "%s probe missing", what)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			errorf(t, "%s probe %s on %s, want %s on http", what, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
		if p.TimeoutSeconds == 0 {
			errorf(t, "%s probe: set timeoutSeconds (the runbook patches it with a JSON-patch replace)", what)
		}
	}
	probe(c.LivenessProbe, "/livez", "liveness")
	probe(c.ReadinessProbe, "/api/health/ready", "readiness")
	probe(c.StartupProbe, "/livez", "startup")
	// Shutdown: preStop sleep, then the server's budget, within the grace period.
	sleep := preStopSleep(t, c)
	cfg := map[string]string{}
	if o.configMap != nil {
		cfg = o.configMap.Data
	}
	budget := 25
	if v, ok := cfg["ARAGORA_SHUTDOWN_TIMEOUT_SECONDS"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			errorf(t, "ARAGORA_SHUTDOWN_TIMEOUT_SECONDS=%q", v)
		}
		budget = n
	}
	if sleep != 5 {
		errorf(t, "preStop sleeps %d s, want 5 (the server's drain window)", sleep)
	}
	const sentryFlush = 2
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= int64(sleep+budget+sentryFlush) {
		errorf(t, "terminationGracePeriodSeconds %v must exceed preStop %d + ARAGORA_SHUTDOWN_TIMEOUT_SECONDS %d + %d", g, sleep, budget, sentryFlush)
	}
	// Configuration and secrets.
	var refs []string
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			if o.configMap == nil || ef.ConfigMapRef.Name != o.configMap.Name {
				errorf(t, "envFrom configMapRef %q is not the rendered ConfigMap", ef.ConfigMapRef.Name)
			}
		case ef.SecretRef != nil:
			refs = append(refs, ef.SecretRef.Name)
		}
	}
	if strings.Join(refs, ",") != strings.Join(want.secretRefs, ",") {
		errorf(t, "envFrom secrets %v, want %v", refs, want.secretRefs)
	}
	for k := range cfg {
		if secretName(k) {
			errorf(t, "ConfigMap holds %s: secrets belong in a Secret", k)
		}
	}
	if cfg["ARAGORA_ENV"] != "production" {
		errorf(t, "ARAGORA_ENV=%q in the ConfigMap, want production", cfg["ARAGORA_ENV"])
	}
	// Security context.
	sc := c.SecurityContext
	psc := pod.SecurityContext
	switch {
	case sc == nil || psc == nil:
		errorf(t, "security contexts missing")
	case psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0:
		errorf(t, "pod must run as a non-root uid")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		errorf(t, "allowPrivilegeEscalation must be false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		errorf(t, "readOnlyRootFilesystem must be true")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		errorf(t, "capabilities must drop ALL")
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	if !mounts["/tmp"] || !mounts[cfgOr(cfg, "ARAGORA_DATA_DIR", "/var/lib/aragora")] {
		errorf(t, "a read-only root needs writable /tmp and the data dir: mounts %v", mounts)
	}
	// Service: svc/aragora, endpoints aragora, aragora.aragora.svc:8080.
	s := o.service
	if s == nil || s.Name != name {
		t.Fatalf("Service aragora missing")
	}
	ns(s.Namespace, "Service")
	sp := map[string]int32{}
	for _, p := range s.Spec.Ports {
		sp[p.Name] = p.Port
	}
	if sp["http"] != 8080 || sp["websocket"] != 8766 || s.Spec.Selector["app"] != name {
		errorf(t, "Service ports %v selector %v", sp, s.Spec.Selector)
	}
	if want.wantHPA {
		h := o.hpa
		if h == nil {
			t.Fatal("no HorizontalPodAutoscaler")
		}
		ns(h.Namespace, "HPA")
		if h.Name != name || h.Spec.ScaleTargetRef.Name != name || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			errorf(t, "HPA %q targets %v: want aragora (kubectl patch hpa aragora)", h.Name, h.Spec.ScaleTargetRef)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 {
			errorf(t, "HPA min %v max %d, want 2..10", h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		targets := map[string]int32{}
		for _, m := range h.Spec.Metrics {
			if m.Resource != nil && m.Resource.Target.AverageUtilization != nil {
				targets[string(m.Resource.Name)] = *m.Resource.Target.AverageUtilization
			}
		}
		if targets["cpu"] != 70 || targets["memory"] != 80 {
			errorf(t, "HPA targets %v, want cpu 70, memory 80", targets)
		}
	} else if o.hpa != nil {
		errorf(t, "unexpected HPA")
	}
	if want.wantPDB {
		p := o.pdb
		if p == nil || p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() != 1 || p.Spec.Selector.MatchLabels["app"] != name {
			errorf(t, "PodDisruptionBudget: want minAvailable 1 over app=aragora, got %+v", p)
		} else {
			ns(p.Namespace, "PDB")
		}
	}
	if want.wantMonitor {
		m := o.serviceMonitor
		if m == nil {
			t.Fatal("no ServiceMonitor")
		}
		ns(m.Namespace, "ServiceMonitor")
		if m.Spec.JobLabel != "app" || m.Spec.Selector.MatchLabels["app"] != name {
			errorf(t, "ServiceMonitor must name the job after app=aragora (the alert rules select job=\"aragora\"): %+v", m.Spec)
		}
		if len(m.Spec.Endpoints) != 1 || m.Spec.Endpoints[0].Port != "http" || m.Spec.Endpoints[0].Path != "/metrics" {
			errorf(t, "ServiceMonitor endpoints %+v, want port http path /metrics", m.Spec.Endpoints)
		}
		for k, v := range want.monitorLabels {
			if m.Labels[k] != v {
				errorf(t, "ServiceMonitor label %s=%q, want %q", k, m.Labels[k], v)
			}
		}
	} else if o.serviceMonitor != nil {
		errorf(t, "unexpected ServiceMonitor")
	}
	if want.wantIngress {
		in := o.ingress
		if in == nil {
			t.Fatal("no Ingress")
		}
		ns(in.Namespace, "Ingress")
		if len(in.Spec.TLS) != 1 || in.Spec.TLS[0].SecretName != "aragora-tls" {
			errorf(t, "Ingress TLS %+v, want secret aragora-tls (kubectl describe certificate aragora-tls)", in.Spec.TLS)
		}
		backends := map[string]string{}
		for _, r := range in.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				backends[p.Path] = p.Backend.Service.Name + ":" + p.Backend.Service.Port.Name
			}
		}
		if backends["/"] != "aragora:http" || backends["/ws"] != "aragora:websocket" {
			errorf(t, "Ingress backends %v", backends)
		}
	}
	if want.wantNetPolicy {
		np := o.networkPolicy
		if np == nil || np.Spec.PodSelector.MatchLabels["app"] != name || len(np.Spec.Ingress) == 0 {
			errorf(t, "NetworkPolicy over app=aragora with ingress rules expected, got %+v", np)
		}
	}
}

func cfgOr(m map[string]string, k, def string) string {
	if v := m[k]; v != "" {
		return v
	}
	return def
}

// secretName reports a variable whose value is a secret.
func secretName(k string) bool {
	for _, suf := range []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_DSN"} {
		if strings.HasSuffix(k, suf) && k != "ARAGORA_CONSTITUTION_PUBLIC_KEY" {
			return true
		}
	}
	return k == "ARAGORA_DATABASE_URL" || k == "ARAGORA_REDIS_URL" || k == "WEBHOOK_URL"
}

func preStopSleep(t *testing.T, c corev1.Container) int {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		t.Error("no preStop exec hook")
		return 0
	}
	cmd := strings.Join(c.Lifecycle.PreStop.Exec.Command, " ")
	var n int
	if _, err := fmt.Sscanf(cmd, "/bin/sh -c sleep %d", &n); err != nil {
		t.Errorf("preStop %q: want /bin/sh -c \"sleep N\"", cmd)
	}
	return n
}

func int32p(n int32) *int32 { return &n }

func TestK8sManifestsDecodeStrictlyAndMatchTheOperations(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var all []runtime.Object
	for _, f := range files {
		names = append(names, filepath.Base(f))
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeAll(t, f, bytes.NewReader(b))
		if len(objs) != 1 {
			t.Errorf("%s: %d objects, want 1", f, len(objs))
		}
		all = append(all, objs...)
	}
	wantFiles := "configmap.yaml deployment.yaml hpa.yaml ingress.yaml namespace.yaml networkpolicy.yaml pdb.yaml secret.yaml service.yaml servicemonitor.yaml"
	if got := strings.Join(names, " "); got != wantFiles {
		t.Errorf("k8s/ holds %s, want %s", got, wantFiles)
	}
	o := index(t, all)
	checkObjects(t, o, expectations{namespace: "aragora", image: "ghcr.io/aragora/aragora:v0.8.0", replicas: int32p(3),
		secretRefs: []string{"aragora-secrets"}, wantHPA: true, wantPDB: true, wantMonitor: true,
		monitorLabels: map[string]string{"release": "prometheus"}, wantIngress: true, wantNetPolicy: true})
	if o.namespace == nil || o.namespace.Name != "aragora" {
		t.Error("namespace.yaml must create namespace aragora")
	}
	if len(o.secrets) != 1 || o.secrets[0].Name != "aragora-secrets" {
		t.Fatal("secret.yaml must template the Secret aragora-secrets")
	}
	if s := o.secrets[0]; len(s.Data)+len(s.StringData) != 0 {
		t.Errorf("secret.yaml must hold no value (it is a template): %d keys", len(s.Data)+len(s.StringData))
	}
	for _, obj := range all {
		m := obj.(interface{ GetNamespace() string })
		if _, isNS := obj.(*corev1.Namespace); !isNS && m.GetNamespace() != "aragora" {
			t.Errorf("%T in namespace %q, want aragora", obj, m.GetNamespace())
		}
	}
}

// The decoder is strict: a misspelt or misplaced field fails instead of
// being dropped silently, as kubectl apply would.
func TestStrictDecoderRejectsUnknownAndDuplicateFields(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr:\n    app: x\n",
		"misplaced field": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  replicas: 3\n",
		"duplicate field": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
	} {
		if _, _, err := strictDecoder.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
