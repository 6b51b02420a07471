package install

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The controller's ports, Istio's so that proxies and runbooks find them where they expect.
const (
	PortXDS        = 15010 // plaintext xDS
	PortXDSTLS     = 15012 // xDS and certificate signing over mTLS
	PortWebhook    = 15017 // injection and validation webhooks (Service port 443)
	PortMonitoring = 15014 // metrics
	PortReady      = 8080  // /ready
	InjectPath     = "/inject"
	ValidatePath   = "/validate"
)

// controller renders the istiod Deployment and Service and the injection and validation webhooks.
func (r renderer) controller() ([]runtime.Object, error) {
	pilot := r.p.Spec.Components.Pilot
	if !pilot.Enabled {
		return nil, nil
	}
	name := r.revisioned(ControllerName)
	selector := map[string]string{"app": ControllerName, LabelRevision: r.revisionLabel()}
	labels := maps.Clone(selector)
	labels["istio"] = "pilot"

	env := []corev1.EnvVar{
		{Name: "REVISION", Value: r.revisionLabel()},
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
		// The controller gives 3/4 of its container's memory limit to the Go runtime as a soft limit, so
		// it collects harder near the limit instead of letting garbage double the heap (docs/control-plane.md).
		{Name: "MEMORY_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
		{Name: "PILOT_TRACE_SAMPLING", Value: strconv.FormatFloat(r.p.Spec.Values.Pilot.TraceSampling, 'f', -1, 64)},
		{Name: "CLUSTER_ID", Value: firstNonEmpty(r.p.Spec.Values.Global.MultiCluster.ClusterName, "Kubernetes")},
		{Name: "ISTIOD_SERVICE", Value: name},
		{Name: "MESH_CONFIG_MAP", Value: r.revisioned(MeshConfigMapName)},
		{Name: "INJECTOR_CONFIG_MAP", Value: r.revisioned(InjectorConfigMapName)},
		{Name: "VALIDATING_WEBHOOK", Value: r.validatorName()},
		{Name: "MUTATING_WEBHOOK", Value: r.revisioned(InjectorConfigMapName)},
	}
	for _, k := range slices.Sorted(maps.Keys(r.p.Spec.Values.Pilot.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: r.p.Spec.Values.Pilot.Env[k]})
	}
	tag := firstNonEmpty(pilot.Tag, r.p.Spec.Tag)
	img := firstNonEmpty(r.p.Spec.Values.Pilot.Image, image(firstNonEmpty(pilot.Hub, r.p.Spec.Hub), "skiff", tag))
	container := corev1.Container{
		Name:  "discovery", // istiod's container name, for `kubectl logs deploy/istiod -c discovery`
		Image: img,
		Args:  []string{"controller"},
		Ports: []corev1.ContainerPort{
			containerPort("http-ready", PortReady),
			containerPort("grpc-xds", PortXDS),
			containerPort("tls-xds", PortXDSTLS),
			containerPort("https-webhooks", PortWebhook),
			containerPort("http-monitoring", PortMonitoring),
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(PortReady)}},
			InitialDelaySeconds: 1,
			PeriodSeconds:       3,
			TimeoutSeconds:      5,
		},
		Env: env,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config-volume", MountPath: "/etc/istio/config", ReadOnly: true},
			{Name: "inject", MountPath: "/var/lib/istio/inject", ReadOnly: true},
		},
		SecurityContext: restrictedContainer(),
	}
	podLabels := map[string]string{"istio": "pilot", LabelSidecarInject: "false"}
	annotations := map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/port":   strconv.Itoa(PortMonitoring),
	}
	deploy := r.deployment(workload{
		name: name, namespace: r.ns, labels: labels, selector: selector,
		podLabels: podLabels, podAnnotations: annotations, serviceAccount: name,
		container: container,
		volumes: []corev1.Volume{
			configMapVolume("config-volume", r.revisioned(MeshConfigMapName)),
			configMapVolume("inject", r.revisioned(InjectorConfigMapName)),
		},
	}, pilot.K8s)
	svc := r.service(name, r.ns, labels, selector, corev1.ServiceTypeClusterIP, []corev1.ServicePort{
		tcpPort("grpc-xds", PortXDS, PortXDS),
		tcpPort("https-dns", PortXDSTLS, PortXDSTLS),
		tcpPort("https-webhook", 443, PortWebhook),
		tcpPort("http-monitoring", PortMonitoring, PortMonitoring),
	}, pilot.K8s)
	return []runtime.Object{svc, deploy, r.mutatingWebhook(name), r.validatingWebhook(name)}, nil
}

func (r renderer) validatorName() string {
	return fmt.Sprintf("%s-%s", r.revisioned("istio-validator"), r.ns)
}

func (r renderer) webhookClient(service, path string) admissionv1.WebhookClientConfig {
	port := int32(443)
	return admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Name: service, Namespace: r.ns, Path: &path, Port: &port}}
}

// mutatingWebhook sends pod creations to the injector, selected as Istio selects them: the namespace's
// istio-injection=enabled (or istio.io/rev for a revision), or the pod's sidecar.istio.io/inject=true;
// a pod's sidecar.istio.io/inject=false always opts out. caBundle is left for the controller to patch.
func (r renderer) mutatingWebhook(service string) *admissionv1.MutatingWebhookConfiguration {
	sv := r.p.Spec.Values.SidecarInjectorWebhook
	reinvocation := admissionv1.ReinvocationPolicyType(firstNonEmpty(sv.ReinvocationPolicy, string(admissionv1.NeverReinvocationPolicy)))
	fail, none, timeout := admissionv1.Fail, admissionv1.SideEffectClassNone, int32(10)
	hook := func(name string, ns, obj []metav1.LabelSelectorRequirement) admissionv1.MutatingWebhook {
		return admissionv1.MutatingWebhook{
			Name:         name,
			ClientConfig: r.webhookClient(service, InjectPath),
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &reinvocation,
			NamespaceSelector:       &metav1.LabelSelector{MatchExpressions: ns},
			ObjectSelector:          &metav1.LabelSelector{MatchExpressions: obj},
		}
	}
	req := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	notOptedOut := req(LabelSidecarInject, metav1.LabelSelectorOpNotIn, "false")
	var hooks []admissionv1.MutatingWebhook
	switch rev := r.p.Spec.Revision; {
	case rev != "":
		hooks = []admissionv1.MutatingWebhook{
			hook("rev.namespace.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{req(LabelRevision, metav1.LabelSelectorOpIn, rev), req(LabelInjection, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{notOptedOut}),
			hook("rev.object.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{req(LabelRevision, metav1.LabelSelectorOpDoesNotExist), req(LabelInjection, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{notOptedOut, req(LabelRevision, metav1.LabelSelectorOpIn, rev)}),
		}
	case sv.EnableNamespacesByDefault:
		hooks = []admissionv1.MutatingWebhook{
			hook("namespace.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{
					req(LabelInjection, metav1.LabelSelectorOpNotIn, "disabled"),
					req(LabelRevision, metav1.LabelSelectorOpDoesNotExist),
					req("kubernetes.io/metadata.name", metav1.LabelSelectorOpNotIn, "kube-system", "kube-public", "kube-node-lease", r.ns),
				},
				[]metav1.LabelSelectorRequirement{notOptedOut}),
		}
	default:
		hooks = []admissionv1.MutatingWebhook{
			hook("namespace.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{req(LabelInjection, metav1.LabelSelectorOpIn, "enabled")},
				[]metav1.LabelSelectorRequirement{notOptedOut}),
			hook("object.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{req(LabelInjection, metav1.LabelSelectorOpDoesNotExist), req(LabelRevision, metav1.LabelSelectorOpDoesNotExist)},
				[]metav1.LabelSelectorRequirement{req(LabelSidecarInject, metav1.LabelSelectorOpIn, "true"), req(LabelRevision, metav1.LabelSelectorOpDoesNotExist)}),
		}
	}
	return &admissionv1.MutatingWebhookConfiguration{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
		ObjectMeta: metav1.ObjectMeta{Name: r.revisioned(InjectorConfigMapName), Labels: map[string]string{"app": "sidecar-injector", LabelRevision: r.revisionLabel()}},
		Webhooks:   hooks,
	}
}

// validatingWebhook checks Istio configuration on create and update. It fails open (Ignore) so a cluster
// without a ready controller still accepts configuration; the controller patches in its caBundle.
func (r renderer) validatingWebhook(service string) *admissionv1.ValidatingWebhookConfiguration {
	ignore, none, timeout := admissionv1.Ignore, admissionv1.SideEffectClassNone, int32(10)
	hook := admissionv1.ValidatingWebhook{
		Name:         "rev.validation.istio.io",
		ClientConfig: r.webhookClient(service, ValidatePath),
		Rules: []admissionv1.RuleWithOperations{{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{
				APIGroups:   []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io"},
				APIVersions: []string{"*"},
				Resources:   []string{"*"},
			},
		}},
		FailurePolicy:           &ignore,
		SideEffects:             &none,
		TimeoutSeconds:          &timeout,
		AdmissionReviewVersions: []string{"v1"},
	}
	if rev := r.p.Spec.Revision; rev != "" {
		hook.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelRevision, Operator: metav1.LabelSelectorOpIn, Values: []string{rev}}}}
	} else {
		// objects of another revision are that revision's to validate
		hook.ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelRevision, Operator: metav1.LabelSelectorOpDoesNotExist}}}
	}
	return &admissionv1.ValidatingWebhookConfiguration{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
		ObjectMeta: metav1.ObjectMeta{Name: r.validatorName(), Labels: map[string]string{"app": ControllerName, LabelRevision: r.revisionLabel()}},
		Webhooks:   []admissionv1.ValidatingWebhook{hook},
	}
}
