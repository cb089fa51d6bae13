package k8s

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker"
)

// workerContainer returns the worker Deployment and its one container, dingq.
func workerContainer(t *testing.T, b base) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := only[appsv1.Deployment](t, b)
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("deployment %s has %d containers: want one, dingq", d.Name, len(cs))
	}
	return d, cs[0]
}

// setting returns the value the worker gets for a DINGQ_* variable: the container's own env, else
// the ConfigMap's, else the Secret's; "" when none sets it.
func setting(t *testing.T, b base, name string) string {
	t.Helper()
	_, c := workerContainer(t, b)
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	if v, ok := only[corev1.ConfigMap](t, b).Data[name]; ok {
		return v
	}
	return only[corev1.Secret](t, b).StringData[name]
}

// Every variable the worker gets is a setting dingq reads: a misspelt one would be ignored.
func TestEnvironmentIsDingqSettings(t *testing.T) {
	b := loadBase(t)
	s := readSettings(t)
	_, c := workerContainer(t, b)
	cm, sec := only[corev1.ConfigMap](t, b), only[corev1.Secret](t, b)
	check := func(where, name string) {
		if !s.has(name) {
			t.Errorf("%s sets %s, which is not a dingq setting (see cmd/internal/config)", where, name)
		}
	}
	for _, e := range c.Env {
		check("the container", e.Name)
	}
	var fromCM, fromSecret bool
	for _, src := range c.EnvFrom {
		if src.Prefix != "" {
			t.Errorf("envFrom with prefix %q: the variables must keep their names", src.Prefix)
		}
		switch {
		case src.ConfigMapRef != nil && src.ConfigMapRef.Name == cm.Name:
			fromCM = true
		case src.SecretRef != nil && src.SecretRef.Name == sec.Name:
			fromSecret = true
		default:
			t.Errorf("envFrom %+v names neither ConfigMap %s nor Secret %s of the base", src, cm.Name, sec.Name)
		}
	}
	if !fromCM || !fromSecret {
		t.Errorf("the container takes its environment from ConfigMap %s: %v, Secret %s: %v; want both", cm.Name, fromCM, sec.Name, fromSecret)
	}
	for k := range cm.Data {
		check("ConfigMap "+cm.Name, k)
	}
	if len(sec.Data) > 0 {
		t.Errorf("Secret %s: write the template's values in stringData, not data", sec.Name)
	}
	for k := range sec.StringData {
		check("Secret "+sec.Name, k)
	}
	for _, secret := range []string{"DINGQ_DINGTALK_APP_SECRET", "DINGQ_KDOCS_ACCESS_TOKEN", "DINGQ_NATS_PASSWORD"} {
		if _, ok := cm.Data[secret]; ok {
			t.Errorf("ConfigMap %s holds %s: secrets go in Secret %s", cm.Name, secret, sec.Name)
		}
	}
}

// The probes reach /healthz and /readyz on the port dingq serves them on (DINGQ_HTTP_ADDR).
func TestProbesHitTheHealthEndpoints(t *testing.T) {
	b := loadBase(t)
	_, c := workerContainer(t, b)
	host, port := splitHTTPAddr(t, setting(t, b, "DINGQ_HTTP_ADDR"))
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("DINGQ_HTTP_ADDR host %q: the kubelet probes the pod's IP; listen on every interface (:%d)", host, port)
	}
	var cp *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].ContainerPort == port {
			cp = &c.Ports[i]
		}
	}
	if cp == nil || cp.Name != "metrics" {
		t.Fatalf("no container port named metrics on %d, DINGQ_HTTP_ADDR's port: %+v", port, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/healthz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an HTTP GET of %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: path %q, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if !portIs(p.probe.HTTPGet.Port, *cp) {
			t.Errorf("%s: port %s, want %s (%d)", p.name, p.probe.HTTPGet.Port.String(), cp.Name, cp.ContainerPort)
		}
	}
	// A worker waits for NATS before it serves /healthz: the startup probe must outlast a NATS
	// that starts with it, or liveness restarts the worker in a loop.
	if sp := c.StartupProbe; sp != nil && time.Duration(sp.PeriodSeconds*sp.FailureThreshold)*time.Second < 2*time.Minute {
		t.Errorf("startupProbe allows %ds before liveness counts: want at least 2 minutes", sp.PeriodSeconds*sp.FailureThreshold)
	}
}

// A pod gets SIGKILLed at the end of its grace period: that must come after the drain.
func TestGracePeriodCoversTheDrain(t *testing.T) {
	b := loadBase(t)
	d, _ := workerContainer(t, b)
	drain := worker.DefaultShutdownTimeout
	if v := setting(t, b, "DINGQ_SHUTDOWN_TIMEOUT"); v != "" {
		var err error
		if drain, err = time.ParseDuration(v); err != nil {
			t.Fatalf("DINGQ_SHUTDOWN_TIMEOUT %q: %v", v, err)
		}
	}
	// After the drain: the cancelled sends' jobs are handed back and the connection is flushed.
	const after = 10 * time.Second
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < drain+after {
		t.Errorf("terminationGracePeriodSeconds %v: want at least %v, DINGQ_SHUTDOWN_TIMEOUT %v and %v to hand back and close", deref(grace), drain+after, drain, after)
	}
}

// The Deployment, the PodDisruptionBudget, the metrics Service and the spread constraints all
// select the same pods.
func TestSelectorsMatchThePods(t *testing.T) {
	b := loadBase(t)
	d, c := workerContainer(t, b)
	pods := labels.Set(d.Spec.Template.Labels)
	matches := func(what string, sel *metav1.LabelSelector) {
		t.Helper()
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Errorf("%s: %v", what, err)
		} else if s.Empty() || !s.Matches(pods) {
			t.Errorf("%s selects %q; the pods are %v", what, s, pods)
		}
	}
	matches("deployment "+d.Name, d.Spec.Selector)
	pdb := only[policyv1.PodDisruptionBudget](t, b)
	matches("PodDisruptionBudget "+pdb.Name, pdb.Spec.Selector)
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		t.Errorf("PodDisruptionBudget %s: set minAvailable or maxUnavailable", pdb.Name)
	}
	for i, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		matches(fmt.Sprintf("topologySpreadConstraints[%d]", i), tsc.LabelSelector)
	}
	if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 && d.Spec.Template.Spec.Affinity == nil {
		t.Errorf("deployment %s: spread the workers over nodes (topologySpreadConstraints or anti-affinity)", d.Name)
	}
	for _, obj := range b.objects {
		svc, ok := obj.(*corev1.Service)
		if !ok {
			continue
		}
		matches("service "+svc.Name, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
		for _, p := range svc.Spec.Ports {
			if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return portIs(p.TargetPort, cp) }) {
				t.Errorf("service %s port %s: targetPort %s is no port of the container", svc.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] == "true" {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return strconv.Itoa(int(cp.ContainerPort)) == a["prometheus.io/port"]
		}) {
			t.Errorf("prometheus.io/port %q is no port of the container", a["prometheus.io/port"])
		}
	}
}

// The ScaledObject scales the worker Deployment, on the job stream's consumer of every kind, never
// to zero.
func TestScaledObjectScalesTheWorkers(t *testing.T) {
	b := loadBase(t)
	d, _ := workerContainer(t, b)
	so := only[scaledObject](t, b)
	ref := so.Spec.ScaleTargetRef
	if ref.Name != d.Name || (ref.Kind != "" && ref.Kind != "Deployment") || (ref.APIVersion != "" && ref.APIVersion != "apps/v1") {
		t.Errorf("ScaledObject %s targets %s %s %q: want the Deployment %s", so.Name, ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("deployment %s sets replicas %d: leave them to the ScaledObject, or each apply resets them", d.Name, *d.Spec.Replicas)
	}
	lo, hi := deref(so.Spec.MinReplicaCount), deref(so.Spec.MaxReplicaCount)
	if so.Spec.MinReplicaCount == nil || lo < 2 {
		t.Errorf("minReplicaCount %d: want at least 2, so that one worker's restart leaves one consuming", lo)
	}
	if so.Spec.MaxReplicaCount == nil || hi < lo {
		t.Errorf("maxReplicaCount %d: want at least minReplicaCount %d", hi, lo)
	}
	if so.Spec.IdleReplicaCount != nil {
		t.Errorf("idleReplicaCount %d: the fleet must never stop", *so.Spec.IdleReplicaCount)
	}
	if len(so.Spec.Triggers) == 0 {
		t.Fatalf("ScaledObject %s has no trigger", so.Name)
	}
	names := schema.NewNames(setting(t, b, "DINGQ_SUBJECT_PREFIX"))
	consumers := map[string]bool{} // the job streams' consumers the triggers read, "stream/consumer"
	for _, tr := range so.Spec.Triggers {
		if err := checkTriggerKeys(tr); err != nil {
			t.Error(err)
			continue
		}
		if tr.Type != "nats-jetstream" {
			continue
		}
		m := tr.Metadata
		_, jobStream := names.AppOfJobStream(m["stream"])
		if !jobStream || !slices.ContainsFunc(schema.Kinds(), func(k schema.Kind) bool { return m["consumer"] == names.ConsumerFor(k) }) {
			t.Errorf("nats-jetstream trigger on %s/%s: want a job stream's consumer of one kind, e.g. %s/%s", m["stream"], m["consumer"], names.JobStream(), names.ConsumerFor(schema.KindCard))
		}
		if key := m["stream"] + "/" + m["consumer"]; consumers[key] {
			t.Errorf("two nats-jetstream triggers on %s", key)
		} else {
			consumers[key] = true
		}
		if n, err := strconv.ParseInt(m["lagThreshold"], 10, 64); m["lagThreshold"] != "" && (err != nil || n < 1) {
			t.Errorf("lagThreshold %q: want a positive whole number", m["lagThreshold"])
		}
		checkMonitoringEndpoint(t, b, m["natsServerMonitoringEndpoint"])
		if user := setting(t, b, "DINGQ_NATS_USER"); user != "" {
			if acc := accountOf(t, user); acc != m["account"] {
				t.Errorf("nats-jetstream trigger reads account %q; the worker user %q is in account %q", m["account"], user, acc)
			}
		}
	}
	// A backlog of any kind adds workers: each kind has its own consumer, and its own lag.
	for _, k := range schema.Kinds() {
		if key := names.JobStream() + "/" + names.ConsumerFor(k); !consumers[key] {
			t.Errorf("no nats-jetstream trigger on %s: a backlog of %s jobs would add no worker", key, k)
		}
	}
}

// checkMonitoringEndpoint checks that KEDA reads the NATS chart's headless Service of the release
// that DINGQ_NATS_URL connects to, on the monitoring port of the chart's values.
func checkMonitoringEndpoint(t *testing.T, b base, endpoint string) {
	t.Helper()
	first, _, _ := strings.Cut(setting(t, b, "DINGQ_NATS_URL"), ",")
	u, err := url.Parse(first)
	if err != nil || u.Hostname() == "" {
		t.Fatalf("DINGQ_NATS_URL %q: want nats://<release>.<namespace>.svc...:4222", first)
	}
	release, rest, _ := strings.Cut(u.Hostname(), ".")
	namespace, _, _ := strings.Cut(rest, ".")
	want := net.JoinHostPort(release+"-headless."+namespace+".svc.cluster.local", strconv.Itoa(readNATSValues(t).Config.Monitor.Port))
	if endpoint != want {
		t.Errorf("natsServerMonitoringEndpoint %q: want %s, the headless Service of the release DINGQ_NATS_URL names, on the monitoring port", endpoint, want)
	}
}

// The pods run as the restricted Pod Security Standard asks, and read nothing they need not.
func TestPodIsLockedDown(t *testing.T) {
	b := loadBase(t)
	d, c := workerContainer(t, b)
	pod := d.Spec.Template.Spec
	ps, cs := pod.SecurityContext, c.SecurityContext
	if ps == nil || cs == nil {
		t.Fatal("want a pod and a container securityContext")
	}
	isFalse := func(b *bool) bool { return b != nil && !*b }
	for _, check := range []struct {
		what string
		ok   bool
	}{
		{"runAsNonRoot", deref(ps.RunAsNonRoot) || deref(cs.RunAsNonRoot)},
		{"runAsUser 65532 (the image's user)", deref(ps.RunAsUser) == 65532 || deref(cs.RunAsUser) == 65532},
		{"seccompProfile RuntimeDefault",
			ps.SeccompProfile != nil && ps.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"readOnlyRootFilesystem", deref(cs.ReadOnlyRootFilesystem)},
		{"allowPrivilegeEscalation false", isFalse(cs.AllowPrivilegeEscalation)},
		{"capabilities drop ALL",
			cs.Capabilities != nil && slices.Contains(cs.Capabilities.Drop, "ALL") && len(cs.Capabilities.Add) == 0},
		{"automountServiceAccountToken false", isFalse(pod.AutomountServiceAccountToken)},
		{"enableServiceLinks false (Service variables would reach dingq's DINGQ_ROBOT_ parser)",
			isFalse(pod.EnableServiceLinks)},
	} {
		if !check.ok {
			t.Errorf("want %s", check.what)
		}
	}
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() {
		t.Errorf("resources: want CPU and memory requests, got %v", r.Requests)
	}
	if r.Limits.Memory().IsZero() || r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
		t.Errorf("resources: want a memory limit at or above the request, got %v", r.Limits)
	}
}

// The kustomization's image entry rewrites the image the Deployment names.
func TestImageEntryMatchesTheContainer(t *testing.T) {
	b := loadBase(t)
	_, c := workerContainer(t, b)
	name, _, _ := strings.Cut(c.Image, ":")
	if !slices.ContainsFunc(b.kustomization.Images, func(i kustomizeImage) bool { return i.Name == name }) {
		t.Errorf("kustomization.yaml has no images entry named %q, the container's image %q", name, c.Image)
	}
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("container args %q: want [serve]", c.Args)
	}
}

// checkTriggerKeys reports a trigger of a type triggerKeys does not know, a metadata key its
// scaler does not document, and a required key it lacks.
func checkTriggerKeys(tr scaleTrigger) error {
	keys, ok := triggerKeys[tr.Type]
	if !ok {
		return fmt.Errorf("trigger type %q: add its documented metadata keys to triggerKeys", tr.Type)
	}
	var errs []string
	for k := range tr.Metadata {
		if _, ok := keys[k]; !ok {
			errs = append(errs, fmt.Sprintf("%q is no metadata key of the %s scaler", k, tr.Type))
		}
	}
	for k, required := range keys {
		if _, ok := tr.Metadata[k]; required && !ok && (tr.AuthenticationRef == nil || (k != "account" && k != "natsServerMonitoringEndpoint")) {
			errs = append(errs, fmt.Sprintf("the %s scaler needs %q", tr.Type, k))
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("trigger %s: %s", tr.Type, strings.Join(errs, "; "))
	}
	return nil
}

func splitHTTPAddr(t *testing.T, addr string) (string, int32) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("DINGQ_HTTP_ADDR %q: %v", addr, err)
	}
	p, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		t.Fatalf("DINGQ_HTTP_ADDR %q: %v", addr, err)
	}
	return host, int32(p)
}

// portIs says whether a probe's or a Service's port, by number or by name, is cp.
func portIs(p intstr.IntOrString, cp corev1.ContainerPort) bool {
	if p.Type == intstr.String {
		return p.StrVal == cp.Name
	}
	return p.IntVal == cp.ContainerPort
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
