package k8s

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kinds that have no Go types in k8s.io/api. Each struct mirrors the documented fields this
// repository uses, or may reasonably use, under their documented names; a field missing here fails
// the tests until it is added, which is the point: the struct is the spelling reference.

// kustomization mirrors kustomize's kustomization.yaml (kustomize.config.k8s.io/v1beta1), as
// documented at https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/.
type kustomization struct {
	metav1.TypeMeta    `json:",inline"`
	Namespace          string               `json:"namespace,omitempty"`
	NamePrefix         string               `json:"namePrefix,omitempty"`
	NameSuffix         string               `json:"nameSuffix,omitempty"`
	Resources          []string             `json:"resources,omitempty"`
	Components         []string             `json:"components,omitempty"`
	Labels             []kustomizeLabel     `json:"labels,omitempty"`
	CommonAnnotations  map[string]string    `json:"commonAnnotations,omitempty"`
	Images             []kustomizeImage     `json:"images,omitempty"`
	Replicas           []kustomizeReplicas  `json:"replicas,omitempty"`
	Patches            []kustomizePatch     `json:"patches,omitempty"`
	ConfigMapGenerator []kustomizeGenerator `json:"configMapGenerator,omitempty"`
	SecretGenerator    []kustomizeGenerator `json:"secretGenerator,omitempty"`
}

type kustomizeLabel struct {
	Pairs            map[string]string `json:"pairs,omitempty"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

type kustomizeImage struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

type kustomizeReplicas struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

type kustomizePatch struct {
	Path   string `json:"path,omitempty"`
	Patch  string `json:"patch,omitempty"`
	Target *struct {
		Group              string `json:"group,omitempty"`
		Version            string `json:"version,omitempty"`
		Kind               string `json:"kind,omitempty"`
		Name               string `json:"name,omitempty"`
		Namespace          string `json:"namespace,omitempty"`
		LabelSelector      string `json:"labelSelector,omitempty"`
		AnnotationSelector string `json:"annotationSelector,omitempty"`
	} `json:"target,omitempty"`
}

type kustomizeGenerator struct {
	Name     string   `json:"name"`
	Behavior string   `json:"behavior,omitempty"`
	Literals []string `json:"literals,omitempty"`
	Files    []string `json:"files,omitempty"`
	Envs     []string `json:"envs,omitempty"`
	Type     string   `json:"type,omitempty"`
}

// scaledObject mirrors KEDA's ScaledObject (keda.sh/v1alpha1), as documented at
// https://keda.sh/docs/latest/reference/scaledobject-spec/.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              scaledObjectSpec `json:"spec"`
}

type scaledObjectSpec struct {
	ScaleTargetRef struct {
		APIVersion             string `json:"apiVersion,omitempty"`
		Kind                   string `json:"kind,omitempty"`
		Name                   string `json:"name"`
		EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
	} `json:"scaleTargetRef"`
	PollingInterval       *int32 `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32 `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32 `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32 `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32 `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32 `json:"maxReplicaCount,omitempty"`
	Advanced              *struct {
		RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
		HorizontalPodAutoscalerConfig *struct {
			Name     string                                         `json:"name,omitempty"`
			Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
		} `json:"horizontalPodAutoscalerConfig,omitempty"`
	} `json:"advanced,omitempty"`
	Fallback *struct {
		FailureThreshold int32 `json:"failureThreshold"`
		Replicas         int32 `json:"replicas"`
	} `json:"fallback,omitempty"`
	Triggers []scaleTrigger `json:"triggers"`
}

// scaleTrigger is one trigger. Its metadata is free-form strings to KEDA's API; the keys each
// scaler documents are in triggerKeys.
type scaleTrigger struct {
	Type              string            `json:"type"`
	Name              string            `json:"name,omitempty"`
	MetricType        string            `json:"metricType,omitempty"`
	UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
		Kind string `json:"kind,omitempty"`
	} `json:"authenticationRef,omitempty"`
}

// triggerKeys are the metadata keys of the scalers this repository uses or documents, from
// https://keda.sh/docs/latest/scalers/nats-jetstream/ and .../scalers/prometheus/; required keys
// are true.
var triggerKeys = map[string]map[string]bool{
	"nats-jetstream": {
		"natsServerMonitoringEndpoint": true, "account": true, "stream": true, "consumer": true,
		"lagThreshold": false, "activationLagThreshold": false, "useHttps": false,
	},
	"prometheus": {
		"serverAddress": true, "query": true, "threshold": true,
		"activationThreshold": false, "namespace": false, "customHeaders": false,
		"ignoreNullValues": false, "unsafeSsl": false, "queryParameters": false, "authModes": false,
	},
}
