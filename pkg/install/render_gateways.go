package install

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// gatewayKind is ingress or egress; they differ in defaults only.
type gatewayKind struct {
	istioLabel  string // the istio=<value> label Gateway resources select
	serviceType corev1.ServiceType
	list        func(ComponentsSpec) []GatewaySpec
}

func ingressKind() gatewayKind {
	return gatewayKind{"ingressgateway", corev1.ServiceTypeLoadBalancer, func(c ComponentsSpec) []GatewaySpec { return c.IngressGateways }}
}

func egressKind() gatewayKind {
	return gatewayKind{"egressgateway", corev1.ServiceTypeClusterIP, func(c ComponentsSpec) []GatewaySpec { return c.EgressGateways }}
}

// Gateway ports, Istio's: health on 15021, and the unprivileged container ports behind 80 and 443.
const (
	PortGatewayStatus = 15021
	PortEnvoyMetrics  = 15090
)

// gateways renders each enabled gateway of kind: ServiceAccount, Role to read its TLS Secrets, Deployment
// running Skiff's Envoy proxy in router mode, and Service. A gateway outside the mesh namespace also gets
// its Namespace, unless an earlier component (base, or the ingress gateways for egress) already has it.
func (r renderer) gateways(kind gatewayKind) []runtime.Object {
	created := map[string]bool{}
	if r.p.Spec.Components.Base.Enabled {
		created[r.ns] = true
	}
	if kind.istioLabel == egressKind().istioLabel {
		for _, gw := range r.p.Spec.Components.IngressGateways {
			if gw.Enabled {
				created[firstNonEmpty(gw.Namespace, r.ns)] = true
			}
		}
	}
	var out []runtime.Object
	for _, gw := range kind.list(r.p.Spec.Components) {
		if !gw.Enabled {
			continue
		}
		if ns := firstNonEmpty(gw.Namespace, r.ns); !created[ns] {
			created[ns] = true
			out = append(out, &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: ns}})
		}
		out = append(out, r.gateway(kind, gw)...)
	}
	return out
}

func (r renderer) gateway(kind gatewayKind, gw GatewaySpec) []runtime.Object {
	ns := firstNonEmpty(gw.Namespace, r.ns)
	selector := map[string]string{"app": gw.Name, "istio": kind.istioLabel}
	maps.Copy(selector, gw.Label)
	labels := maps.Clone(selector)
	labels[LabelRevision] = r.revisionLabel()
	sa := gw.Name + "-service-account"
	role := gw.Name + "-sds"

	g := r.p.Spec.Values.Global
	proxyImage := image(firstNonEmpty(gw.Hub, r.p.Spec.Hub), firstNonEmpty(g.Proxy.Image, "skiff-proxy"), firstNonEmpty(gw.Tag, r.p.Spec.Tag))
	discovery := fmt.Sprintf("%s.%s.svc:%d", r.revisioned(ControllerName), r.ns, PortXDSTLS)
	container := corev1.Container{
		Name:  "istio-proxy",
		Image: proxyImage,
		Args: []string{
			"proxy", "router",
			"--domain", "$(POD_NAMESPACE).svc." + firstNonEmpty(g.Proxy.ClusterDomain, "cluster.local"),
			"--proxyLogLevel=" + firstNonEmpty(g.Proxy.LogLevel, "warning"),
			"--proxyComponentLogLevel=" + firstNonEmpty(g.Proxy.ComponentLogLevel, "misc:error"),
			"--log_output_level=" + firstNonEmpty(g.Logging.Level, "default:info"),
		},
		Ports: []corev1.ContainerPort{
			containerPort("status-port", PortGatewayStatus),
			containerPort("http2", 8080),
			containerPort("https", 8443),
			containerPort("http-envoy-prom", PortEnvoyMetrics),
		},
		Env: []corev1.EnvVar{
			{Name: "PILOT_CERT_PROVIDER", Value: firstNonEmpty(g.PilotCertProvider, "istiod")},
			{Name: "CA_ADDR", Value: firstNonEmpty(g.CAAddress, discovery)},
			{Name: "DISCOVERY_ADDRESS", Value: discovery},
			fieldEnv("NODE_NAME", "spec.nodeName"),
			fieldEnv("POD_NAME", "metadata.name"),
			fieldEnv("POD_NAMESPACE", "metadata.namespace"),
			fieldEnv("INSTANCE_IP", "status.podIP"),
			fieldEnv("HOST_IP", "status.hostIP"),
			fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
			{Name: "ISTIO_META_WORKLOAD_NAME", Value: gw.Name},
			{Name: "ISTIO_META_OWNER", Value: fmt.Sprintf("kubernetes://apis/apps/v1/namespaces/%s/deployments/%s", ns, gw.Name)},
			{Name: "ISTIO_META_MESH_ID", Value: firstNonEmpty(g.MeshID, firstNonEmpty(g.TrustDomain, "cluster.local"))},
			{Name: "TRUST_DOMAIN", Value: firstNonEmpty(g.TrustDomain, "cluster.local")},
			{Name: "ISTIO_META_CLUSTER_ID", Value: firstNonEmpty(g.MultiCluster.ClusterName, "Kubernetes")},
			{Name: "ISTIO_META_NETWORK", Value: g.Network},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(PortGatewayStatus), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			FailureThreshold: 30,
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "workload-certs", MountPath: "/var/run/secrets/workload-spiffe-credentials"},
			{Name: "istio-envoy", MountPath: "/etc/istio/proxy"},
			{Name: "istio-data", MountPath: "/var/lib/istio/data"},
			{Name: "istio-token", MountPath: "/var/run/secrets/tokens", ReadOnly: true},
			// the agent authenticates the CA with the mesh root and sends the pod's labels (which Gateway
			// selectors match) in Envoy's node metadata
			{Name: "istiod-ca-cert", MountPath: "/var/run/secrets/istio", ReadOnly: true},
			{Name: "istio-podinfo", MountPath: "/etc/istio/pod", ReadOnly: true},
		},
		SecurityContext: restrictedContainer(),
	}
	expiry := int64(43200)
	volumes := []corev1.Volume{
		{Name: "workload-certs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "istio-envoy", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "istio-data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "istio-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
			ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "istio-ca", ExpirationSeconds: &expiry, Path: "istio-token"},
		}}}}},
		{Name: "istiod-ca-cert", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "istio-ca-root-cert"}}}},
		{Name: "istio-podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
		}}}},
	}
	// binding 80/443 needs no privilege: Envoy listens on 8080/8443 and the Service maps the ports
	unprivileged := &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
	deploy := r.deployment(workload{
		name: gw.Name, namespace: ns, labels: labels, selector: selector,
		podLabels:      map[string]string{LabelSidecarInject: "false", "service.istio.io/canonical-name": gw.Name},
		podAnnotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(PortEnvoyMetrics), "prometheus.io/path": "/stats/prometheus"},
		serviceAccount: sa, container: container, volumes: volumes, securityContext: unprivileged,
	}, gw.K8s)
	svc := r.service(gw.Name, ns, labels, selector, kind.serviceType, []corev1.ServicePort{
		tcpPort("status-port", PortGatewayStatus, PortGatewayStatus),
		tcpPort("http2", 80, 8080),
		tcpPort("https", 443, 8443),
	}, gw.K8s)
	meta := metav1.ObjectMeta{Namespace: ns, Labels: labels}
	return []runtime.Object{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: withName(meta, sa)},
		&rbacv1.Role{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
			ObjectMeta: withName(meta, role),
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "watch", "list"}}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: withName(meta, role),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
		},
		svc,
		deploy,
	}
}

func withName(m metav1.ObjectMeta, name string) metav1.ObjectMeta {
	m.Name = name
	m.Labels = maps.Clone(m.Labels)
	return m
}
