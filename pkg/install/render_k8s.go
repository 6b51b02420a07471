package install

import (
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// workload describes a single-container Deployment before the component's k8s settings are applied.
type workload struct {
	name, namespace string
	labels          map[string]string // object labels
	selector        map[string]string // selector; pods get these plus podLabels
	podLabels       map[string]string
	podAnnotations  map[string]string
	serviceAccount  string
	container       corev1.Container
	volumes         []corev1.Volume
	securityContext *corev1.PodSecurityContext
}

// deployment builds the Deployment for w, customised by k and the global values, as IstioOperator's
// k8s block does.
func (r renderer) deployment(w workload, k K8sSpec) *appsv1.Deployment {
	g := r.p.Spec.Values.Global
	c := w.container
	c.ImagePullPolicy = corev1.PullPolicy(firstNonEmpty(string(k.ImagePullPolicy), string(g.ImagePullPolicy)))
	switch {
	case k.Resources != nil:
		c.Resources = *k.Resources
	case g.DefaultResources != nil:
		c.Resources = *g.DefaultResources
	}
	c.Env = mergeEnv(c.Env, k.Env)

	podLabels := maps.Clone(w.selector)
	maps.Copy(podLabels, w.podLabels)
	annotations := maps.Clone(w.podAnnotations)
	if annotations == nil && len(k.PodAnnotations) > 0 {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, k.PodAnnotations)
	nodeSelector := k.NodeSelector
	if nodeSelector == nil {
		nodeSelector = g.DefaultNodeSelector
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, s := range g.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	replicas := k.ReplicaCount
	if replicas == 0 {
		replicas = 1
	}
	d := &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.namespace, Labels: w.labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: w.selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
				Spec: corev1.PodSpec{
					ServiceAccountName: w.serviceAccount,
					Containers:         []corev1.Container{c},
					Volumes:            w.volumes,
					NodeSelector:       nodeSelector,
					Tolerations:        k.Tolerations,
					Affinity:           k.Affinity,
					PriorityClassName:  firstNonEmpty(k.PriorityClassName, g.PriorityClassName),
					ImagePullSecrets:   pullSecrets,
					SecurityContext:    w.securityContext,
				},
			},
		},
	}
	if k.Strategy != nil {
		d.Spec.Strategy = *k.Strategy
	}
	return d
}

// mergeEnv returns base with extra's variables replacing same-named ones and the rest appended.
func mergeEnv(base, extra []corev1.EnvVar) []corev1.EnvVar {
	out := slices.Clone(base)
	for _, e := range extra {
		if i := slices.IndexFunc(out, func(b corev1.EnvVar) bool { return b.Name == e.Name }); i >= 0 {
			out[i] = e
			continue
		}
		out = append(out, e)
	}
	return out
}

// service builds a Service with default ports and type, customised by the component's k8s.service.
func (r renderer) service(name, namespace string, labels, selector map[string]string, typ corev1.ServiceType, ports []corev1.ServicePort, k K8sSpec) *corev1.Service {
	s := k.Service
	if len(s.Ports) > 0 {
		ports = s.Ports
	}
	if s.Type != "" {
		typ = s.Type
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels, Annotations: k.ServiceAnnotations},
		Spec: corev1.ServiceSpec{
			Type:                     typ,
			Selector:                 selector,
			Ports:                    ports,
			ExternalTrafficPolicy:    s.ExternalTrafficPolicy,
			LoadBalancerIP:           s.LoadBalancerIP,
			LoadBalancerSourceRanges: s.LoadBalancerSourceRanges,
			LoadBalancerClass:        s.LoadBalancerClass,
		},
	}
}

func tcpPort(name string, port, target int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: corev1.ProtocolTCP}
}

func containerPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}}
}

func configMapVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}}
}

// image joins hub, name and tag unless name is already a full reference.
func image(hub, name, tag string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return hub + "/" + name + ":" + tag
}

// proxyUID is the user Skiff's own containers run as; Istio's, which traffic redirection exempts.
const proxyUID = 1337

// restrictedContainer is the container security context Skiff's own components run with.
func restrictedContainer() *corev1.SecurityContext {
	f, t, uid := false, true, int64(proxyUID)
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &f,
		ReadOnlyRootFilesystem:   &t,
		RunAsNonRoot:             &t,
		RunAsUser:                &uid,
		RunAsGroup:               &uid,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}
