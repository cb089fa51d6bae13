package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const baseDir = "base"

// base is the kustomize base, every resource decoded strictly into its type.
type base struct {
	kustomization kustomization
	objects       map[string]any // by file name
}

// newObject returns an empty object of the Go type of apiVersion and kind; nil for a kind these
// tests do not know, which fails them: a new kind needs its type here.
func newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 Service":
		return &corev1.Service{}
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "keda.sh/v1alpha1 ScaledObject":
		return &scaledObject{}
	}
	return nil
}

// decodeManifest decodes one resource file strictly into the type its apiVersion and kind name.
func decodeManifest(data []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	obj := newObject(tm.APIVersion, tm.Kind)
	if obj == nil {
		return nil, fmt.Errorf("apiVersion %q, kind %q: not a kind these tests know; add its type to newObject", tm.APIVersion, tm.Kind)
	}
	return obj, decodeStrict(data, obj)
}

// loadBase reads kustomization.yaml and every resource it lists, strictly.
func loadBase(t *testing.T) base {
	t.Helper()
	b := base{objects: map[string]any{}}
	data, err := os.ReadFile(filepath.Join(baseDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(data, &b.kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k := b.kustomization; k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: apiVersion %q, kind %q: want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	for _, res := range b.kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(baseDir, res))
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", res, err)
		}
		obj, err := decodeManifest(data)
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		b.objects[res] = obj
	}
	return b
}

// only returns the one object of type T in the base, failing the test unless there is exactly one.
func only[T any](t *testing.T, b base) *T {
	t.Helper()
	var found []*T
	for _, obj := range b.objects {
		if o, ok := obj.(*T); ok {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("the base has %d objects of type %T: want one", len(found), zero)
	}
	return found[0]
}

func TestEveryManifestDecodesStrictly(t *testing.T) {
	b := loadBase(t)
	for name, obj := range b.objects {
		meta, ok := obj.(metav1.Object)
		if !ok {
			t.Fatalf("%s: %T has no object metadata", name, obj)
		}
		if meta.GetName() == "" {
			t.Errorf("%s: metadata.name is empty", name)
		}
		if ns := meta.GetNamespace(); ns != "" {
			t.Errorf("%s: namespace %q: leave it to kustomization.yaml's namespace", name, ns)
		}
	}
	only[appsv1.Deployment](t, b)
	only[corev1.ConfigMap](t, b)
	only[corev1.Secret](t, b)
	only[policyv1.PodDisruptionBudget](t, b)
	only[scaledObject](t, b)
}

// Every YAML file in the base is a resource it lists: a file left out of kustomization.yaml is
// never applied, silently.
func TestEveryFileIsListed(t *testing.T) {
	b := loadBase(t)
	files, err := filepath.Glob(filepath.Join(baseDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name != "kustomization.yaml" && !slices.Contains(b.kustomization.Resources, name) {
			t.Errorf("%s is not in kustomization.yaml's resources", name)
		}
	}
}

// The decoding is strict: each misspelt snippet fails, and its correct twin passes, so that the
// failure is the misspelling's.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n"
	for _, tc := range []struct {
		name, good, bad string
	}{
		{"unknown field",
			deployment + "      terminationGracePeriodSeconds: 40\n",
			deployment + "      terminationGracePeriod: 40\n"},
		{"wrong case",
			deployment + "      containers: [{name: w, imagePullPolicy: Always}]\n",
			deployment + "      containers: [{name: w, imagePullpolicy: Always}]\n"},
		{"field twice",
			deployment + "      hostname: a\n",
			deployment + "      hostname: a\n      hostname: b\n"},
		{"wrong type",
			deployment + "      terminationGracePeriodSeconds: 40\n",
			deployment + "      terminationGracePeriodSeconds: forty\n"},
		{"second document",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {nme: d}\n"},
		{"PodDisruptionBudget",
			"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailable: 1}\n",
			"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailble: 1}\n"},
		{"ScaledObject",
			"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec: {scaleTargetRef: {name: w}, minReplicaCount: 2, triggers: []}\n",
			"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec: {scaleTargetRef: {name: w}, minReplicas: 2, triggers: []}\n"},
		{"ScaledObject trigger metadata is strings",
			"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec: {scaleTargetRef: {name: w}, triggers: [{type: t, metadata: {lagThreshold: \"10\"}}]}\n",
			"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec: {scaleTargetRef: {name: w}, triggers: [{type: t, metadata: {lagThreshold: 10}}]}\n"},
		{"unknown kind",
			"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
			"apiVersion: v1\nkind: Servce\nmetadata: {name: s}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeManifest([]byte(tc.good)); err != nil {
				t.Fatalf("the correct snippet fails: %v", err)
			}
			if _, err := decodeManifest([]byte(tc.bad)); err == nil {
				t.Fatal("the misspelt snippet decodes without an error")
			} else {
				t.Log(err)
			}
		})
	}
	t.Run("kustomization", func(t *testing.T) {
		var k kustomization
		if err := decodeStrict([]byte("resources: [a.yaml]\nimages: [{name: dingq, newTag: v1}]\n"), &k); err != nil {
			t.Fatalf("the correct snippet fails: %v", err)
		}
		if err := decodeStrict([]byte("resources: [a.yaml]\nimages: [{name: dingq, newtag: v1}]\n"), &k); err == nil {
			t.Fatal("the misspelt snippet decodes without an error")
		}
	})
	t.Run("trigger metadata key", func(t *testing.T) {
		good := scaleTrigger{Type: "nats-jetstream", Metadata: map[string]string{
			"natsServerMonitoringEndpoint": "n:8222", "account": "A", "stream": "S", "consumer": "C", "lagThreshold": "10"}}
		if err := checkTriggerKeys(good); err != nil {
			t.Fatalf("the correct trigger fails: %v", err)
		}
		bad := scaleTrigger{Type: good.Type, Metadata: map[string]string{}}
		for k, v := range good.Metadata {
			bad.Metadata[k] = v
		}
		delete(bad.Metadata, "lagThreshold")
		bad.Metadata["lagTreshold"] = "10"
		if err := checkTriggerKeys(bad); err == nil {
			t.Fatal("a misspelt metadata key passes")
		}
	})
}
