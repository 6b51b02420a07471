package install

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install/crds"
)

// Istio's object names, so runbooks (kubectl -n istio-system get cm istio) keep working.
const (
	ControllerName          = "istiod"
	MeshConfigMapName       = "istio"
	MeshConfigKey           = "mesh"
	InjectorConfigMapName   = "istio-sidecar-injector"
	InjectorConfigKey       = "config"
	InjectorValuesKey       = "values"
	LabelRevision           = "istio.io/rev"
	LabelInjection          = "istio-injection"
	LabelSidecarInject      = "sidecar.istio.io/inject"
	defaultRevisionLabelVal = "default"
)

// revisioned appends the profile's revision to a name, as Istio names a revision's objects.
func (r renderer) revisioned(name string) string {
	if r.p.Spec.Revision == "" {
		return name
	}
	return name + "-" + r.p.Spec.Revision
}

func (r renderer) revisionLabel() string {
	return firstNonEmpty(r.p.Spec.Revision, defaultRevisionLabelVal)
}

func (r renderer) meta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.ns, Labels: labels}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// base renders the namespace, service account, RBAC and the mesh and injector ConfigMaps; CRDs come from crds().
func (r renderer) base() ([]runtime.Object, error) {
	if !r.p.Spec.Components.Base.Enabled {
		return nil, nil
	}
	meshYAML, err := r.meshConfigYAML()
	if err != nil {
		return nil, err
	}
	valuesJSON, err := json.MarshalIndent(r.p.Spec.Values, "", "  ")
	if err != nil {
		return nil, err
	}
	name := r.revisioned(ControllerName)
	labels := map[string]string{"app": ControllerName, LabelRevision: r.revisionLabel()}
	clusterName := fmt.Sprintf("%s-clusterrole-%s", name, r.ns)
	sa := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: r.ns}}
	return []runtime.Object{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: r.ns}},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: r.meta(name, labels)},
		&rbacv1.ClusterRole{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
			ObjectMeta: metav1.ObjectMeta{Name: clusterName, Labels: labels},
			Rules:      controllerClusterRules(),
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: clusterName, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterName},
			Subjects:   sa,
		},
		&rbacv1.Role{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
			ObjectMeta: r.meta(name, labels),
			Rules: []rbacv1.PolicyRule{
				// the CA keeps its root key in a Secret and publishes the root cert in ConfigMaps
				{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"create", "get", "watch", "list", "update", "delete"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "update", "patch", "create"}},
			},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: r.meta(name, labels),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects:   sa,
		},
		&corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: r.meta(r.revisioned(MeshConfigMapName), map[string]string{LabelRevision: r.revisionLabel()}),
			Data:       map[string]string{MeshConfigKey: string(meshYAML)},
		},
		&corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: r.meta(r.revisioned(InjectorConfigMapName), map[string]string{LabelRevision: r.revisionLabel()}),
			Data:       map[string]string{InjectorConfigKey: inject.DefaultTemplate(), InjectorValuesKey: string(valuesJSON)},
		},
	}, nil
}

// controllerClusterRules is what the controller reads cluster-wide: Istio configuration, workloads and
// services, plus patching its own webhooks' caBundle and publishing the root cert into namespaces.
func controllerClusterRules() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}, Resources: []string{"*"}, Verbs: read},
		{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io"}, Resources: []string{"*/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{"networking.istio.io"}, Resources: []string{"workloadentries", "workloadentries/status"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, Verbs: []string{"get", "list", "watch", "update", "patch"}},
		{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"pods", "nodes", "services", "namespaces", "endpoints", "serviceaccounts", "secrets"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update"}},
		// Warning Events on invalid or conflicting Istio configuration
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "ingressclasses"}, Verbs: read},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}
}

// meshConfigYAML is spec.meshConfig over the settings derived from the rest of the profile (root namespace,
// discovery address, trace sampling, the Jaeger add-on as Zipkin tracer); explicit meshConfig wins.
func (r renderer) meshConfigYAML() ([]byte, error) {
	tracing := map[string]any{"sampling": r.p.Spec.Values.Pilot.TraceSampling}
	if r.p.Spec.AddonComponents.Jaeger.Enabled {
		tracing["zipkin"] = map[string]any{"address": fmt.Sprintf("zipkin.%s:9411", r.ns)}
	}
	derived := map[string]any{
		"rootNamespace": r.ns,
		"trustDomain":   firstNonEmpty(r.p.Spec.Values.Global.TrustDomain, "cluster.local"),
		"defaultConfig": map[string]any{
			"discoveryAddress": fmt.Sprintf("%s.%s.svc:15012", r.revisioned(ControllerName), r.ns),
			"tracing":          tracing,
		},
	}
	return yaml.Marshal(mergeTrees(derived, r.p.Spec.MeshConfig))
}

// crds returns the CRDs of every Istio kind Skiff accepts, when the base component is enabled.
func (r renderer) crds() ([]*unstructured.Unstructured, error) {
	if !r.p.Spec.Components.Base.Enabled {
		return nil, nil
	}
	return crds.Objects()
}
