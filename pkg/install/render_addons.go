package install

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The add-ons' public images, the versions Istio's samples/addons pin; addonComponents.<name>.image overrides.
const (
	KialiImage      = "quay.io/kiali/kiali:v2.17.0"
	JaegerImage     = "docker.io/jaegertracing/all-in-one:1.67.0"
	PrometheusImage = "docker.io/prom/prometheus:v3.5.0"
	GrafanaImage    = "docker.io/grafana/grafana:11.3.1"
)

// Add-on ports, as in Istio's samples, so `skiff dashboard` and runbooks find them.
const (
	PortKiali      = 20001
	PortJaegerUI   = 16686
	PortZipkin     = 9411
	PortPrometheus = 9090
	PortGrafana    = 3000
)

// addons renders the enabled observability add-ons, each a Deployment, Service(s) and ConfigMap labelled
// app=<name> in the mesh namespace.
func (r renderer) addons() ([]runtime.Object, error) {
	a := r.p.Spec.AddonComponents
	var out []runtime.Object
	for _, addon := range []struct {
		spec   AddonSpec
		render func(AddonSpec) ([]runtime.Object, error)
	}{{a.Prometheus, r.prometheus}, {a.Jaeger, r.jaeger}, {a.Grafana, r.grafana}, {a.Kiali, r.kiali}} {
		if !addon.spec.Enabled {
			continue
		}
		objs, err := addon.render(addon.spec)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// addonWorkload is the Deployment of an add-on named app, with its ConfigMap mounted at configDir.
func (r renderer) addonWorkload(app string, spec AddonSpec, defaultImage string, c corev1.Container, configDir string, volumes ...corev1.Volume) runtime.Object {
	labels := map[string]string{"app": app}
	c.Name = app
	c.Image = firstNonEmpty(spec.Image, defaultImage)
	if configDir != "" {
		c.VolumeMounts = append([]corev1.VolumeMount{{Name: "config", MountPath: configDir, ReadOnly: true}}, c.VolumeMounts...)
		volumes = append([]corev1.Volume{configMapVolume("config", app)}, volumes...)
	}
	return r.deployment(workload{
		name: app, namespace: r.ns, labels: labels, selector: labels,
		podLabels: map[string]string{LabelSidecarInject: "false"}, serviceAccount: app,
		container: c, volumes: volumes,
	}, spec.K8s)
}

func (r renderer) addonConfigMap(app string, data map[string]string) runtime.Object {
	return &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: r.meta(app, map[string]string{"app": app}), Data: data}
}

func (r renderer) addonServiceAccount(app string) runtime.Object {
	return &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: r.meta(app, map[string]string{"app": app})}
}

// addonClusterAccess is a read-only ClusterRole and its binding to the add-on's ServiceAccount.
func (r renderer) addonClusterAccess(app string, rules []rbacv1.PolicyRule) []runtime.Object {
	name := fmt.Sprintf("%s-%s", app, r.ns)
	labels := map[string]string{"app": app}
	return []runtime.Object{
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: app, Namespace: r.ns}},
		},
	}
}

func httpProbe(path string, port int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port)}}, InitialDelaySeconds: 5, PeriodSeconds: 10}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func (r renderer) prometheus(spec AddonSpec) ([]runtime.Object, error) {
	const app = "prometheus"
	config, err := yaml.Marshal(prometheusConfig())
	if err != nil {
		return nil, err
	}
	read := []string{"get", "list", "watch"}
	objs := []runtime.Object{r.addonServiceAccount(app)}
	objs = append(objs, r.addonClusterAccess(app, []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods", "configmaps"}, Verbs: read},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
		{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
	})...)
	return append(objs,
		r.addonConfigMap(app, map[string]string{"prometheus.yml": string(config)}),
		r.service(app, r.ns, map[string]string{"app": app}, map[string]string{"app": app}, corev1.ServiceTypeClusterIP,
			[]corev1.ServicePort{tcpPort("http", PortPrometheus, PortPrometheus)}, spec.K8s),
		r.addonWorkload(app, spec, PrometheusImage, corev1.Container{
			Args:           []string{"--config.file=/etc/config/prometheus.yml", "--storage.tsdb.path=/data", "--storage.tsdb.retention.time=15d", "--web.enable-lifecycle"},
			Ports:          []corev1.ContainerPort{containerPort("http", PortPrometheus)},
			ReadinessProbe: httpProbe("/-/ready", PortPrometheus),
			VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}, "/etc/config", emptyDir("data")),
	), nil
}

// prometheusConfig scrapes every pod that asks to be (prometheus.io/scrape, port and path annotations), which
// covers the controller, the gateways and injected sidecars (their merged metrics).
func prometheusConfig() map[string]any {
	relabel := []any{
		map[string]any{"source_labels": []any{"__meta_kubernetes_pod_annotation_prometheus_io_scrape"}, "action": "keep", "regex": "true"},
		map[string]any{"source_labels": []any{"__meta_kubernetes_pod_annotation_prometheus_io_path"}, "action": "replace", "target_label": "__metrics_path__", "regex": "(.+)"},
		map[string]any{
			"source_labels": []any{"__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"},
			"action":        "replace", "regex": `([^:]+)(?::\d+)?;(\d+)`, "replacement": "$1:$2", "target_label": "__address__",
		},
		map[string]any{"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
		map[string]any{"source_labels": []any{"__meta_kubernetes_namespace"}, "action": "replace", "target_label": "namespace"},
		map[string]any{"source_labels": []any{"__meta_kubernetes_pod_name"}, "action": "replace", "target_label": "pod"},
		map[string]any{"source_labels": []any{"__meta_kubernetes_pod_phase"}, "action": "drop", "regex": "Pending|Succeeded|Failed|Completed"},
	}
	return map[string]any{
		"global": map[string]any{"scrape_interval": "15s", "evaluation_interval": "1m"},
		"scrape_configs": []any{
			map[string]any{"job_name": "prometheus", "static_configs": []any{map[string]any{"targets": []any{fmt.Sprintf("localhost:%d", PortPrometheus)}}}},
			map[string]any{"job_name": "kubernetes-pods", "kubernetes_sd_configs": []any{map[string]any{"role": "pod"}}, "relabel_configs": relabel},
		},
	}
}

func (r renderer) jaeger(spec AddonSpec) ([]runtime.Object, error) {
	const app = "jaeger"
	// sampling is decided by the proxies (meshConfig tracing.sampling); Jaeger keeps all it receives
	strategies := `{"default_strategy": {"type": "probabilistic", "param": 1.0}}`
	selector := map[string]string{"app": app}
	svc := func(name string, ports ...corev1.ServicePort) runtime.Object {
		return r.service(name, r.ns, map[string]string{"app": app}, selector, corev1.ServiceTypeClusterIP, ports, K8sSpec{ServiceAnnotations: spec.K8s.ServiceAnnotations})
	}
	return []runtime.Object{
		r.addonServiceAccount(app),
		r.addonConfigMap(app, map[string]string{"sampling.json": strategies}),
		svc("tracing", tcpPort("http-query", 80, PortJaegerUI), tcpPort("grpc-query", 16685, 16685)),
		svc("zipkin", tcpPort("http-query", PortZipkin, PortZipkin)),
		svc("jaeger-collector",
			tcpPort("jaeger-collector-http", 14268, 14268),
			tcpPort("jaeger-collector-grpc", 14250, 14250),
			tcpPort("http-zipkin", PortZipkin, PortZipkin),
			tcpPort("grpc-otel", 4317, 4317),
			tcpPort("http-otel", 4318, 4318)),
		r.addonWorkload(app, spec, JaegerImage, corev1.Container{
			Env: []corev1.EnvVar{
				{Name: "BADGER_EPHEMERAL", Value: "false"},
				{Name: "SPAN_STORAGE_TYPE", Value: "badger"},
				{Name: "BADGER_DIRECTORY_VALUE", Value: "/badger/data"},
				{Name: "BADGER_DIRECTORY_KEY", Value: "/badger/key"},
				{Name: "COLLECTOR_ZIPKIN_HOST_PORT", Value: fmt.Sprintf(":%d", PortZipkin)},
				{Name: "COLLECTOR_OTLP_ENABLED", Value: "true"},
				{Name: "MEMORY_MAX_TRACES", Value: "50000"},
				{Name: "QUERY_BASE_PATH", Value: "/jaeger"},
				{Name: "SAMPLING_STRATEGIES_FILE", Value: "/etc/jaeger/sampling.json"},
			},
			Ports: []corev1.ContainerPort{
				containerPort("http-query", PortJaegerUI),
				containerPort("grpc-query", 16685),
				containerPort("zipkin", PortZipkin),
				containerPort("collector-http", 14268),
				containerPort("collector-grpc", 14250),
				containerPort("otlp-grpc", 4317),
				containerPort("otlp-http", 4318),
			},
			ReadinessProbe: httpProbe("/", 14269),
			VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/badger"}},
		}, "/etc/jaeger", emptyDir("data")),
	}, nil
}

func (r renderer) grafana(spec AddonSpec) ([]runtime.Object, error) {
	const app = "grafana"
	datasources, err := yaml.Marshal(map[string]any{
		"apiVersion": 1,
		"datasources": []any{map[string]any{
			"name": "Prometheus", "type": "prometheus", "orgId": 1, "access": "proxy", "isDefault": true, "editable": true,
			"url": fmt.Sprintf("http://prometheus.%s:%d", r.ns, PortPrometheus),
		}},
	})
	if err != nil {
		return nil, err
	}
	ini := strings.Join([]string{
		"[analytics]", "check_for_updates = false",
		"[auth]", "disable_login_form = true",
		"[auth.anonymous]", "enabled = true", "org_role = Admin",
		"[auth.basic]", "enabled = false",
		"[paths]", "data = /var/lib/grafana/", "logs = /var/log/grafana", "plugins = /var/lib/grafana/plugins", "provisioning = /etc/grafana/provisioning",
		"[server]", "domain = ''", "root_url = %(protocol)s://%(domain)s:%(http_port)s/",
	}, "\n") + "\n"
	return []runtime.Object{
		r.addonServiceAccount(app),
		r.addonConfigMap(app, map[string]string{"datasources.yaml": string(datasources), "grafana.ini": ini}),
		r.service(app, r.ns, map[string]string{"app": app}, map[string]string{"app": app}, corev1.ServiceTypeClusterIP,
			[]corev1.ServicePort{tcpPort("service", PortGrafana, PortGrafana)}, spec.K8s),
		r.addonWorkload(app, spec, GrafanaImage, corev1.Container{
			Env: []corev1.EnvVar{
				{Name: "GF_PATHS_CONFIG", Value: "/etc/grafana/grafana.ini"},
				{Name: "GF_PATHS_PROVISIONING", Value: "/etc/grafana/provisioning"},
			},
			Ports:          []corev1.ContainerPort{containerPort("service", PortGrafana)},
			ReadinessProbe: httpProbe("/api/health", PortGrafana),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: "/etc/grafana/grafana.ini", SubPath: "grafana.ini", ReadOnly: true},
				{Name: "config", MountPath: "/etc/grafana/provisioning/datasources/datasources.yaml", SubPath: "datasources.yaml", ReadOnly: true},
				{Name: "storage", MountPath: "/var/lib/grafana"},
			},
		}, "", configMapVolume("config", app), emptyDir("storage")),
	}, nil
}

func (r renderer) kiali(spec AddonSpec) ([]runtime.Object, error) {
	const app = "kiali"
	config, err := yaml.Marshal(map[string]any{
		"auth":            map[string]any{"strategy": "anonymous"},
		"deployment":      map[string]any{"cluster_wide_access": true, "namespace": r.ns},
		"istio_namespace": r.ns,
		"server": map[string]any{
			"port": PortKiali, "web_root": "/kiali",
			"observability": map[string]any{"metrics": map[string]any{"enabled": true, "port": 9090}},
		},
		"external_services": map[string]any{
			"prometheus": map[string]any{"url": fmt.Sprintf("http://prometheus.%s:%d", r.ns, PortPrometheus)},
			"grafana":    map[string]any{"enabled": true, "internal_url": fmt.Sprintf("http://grafana.%s:%d", r.ns, PortGrafana)},
			"tracing": map[string]any{
				"enabled": true, "provider": "jaeger", "use_grpc": true,
				"internal_url": fmt.Sprintf("http://tracing.%s:16685/jaeger", r.ns),
			},
			"istio": map[string]any{
				"root_namespace":                         r.ns,
				"istiod_deployment_name":                 r.revisioned(ControllerName),
				"config_map_name":                        r.revisioned(MeshConfigMapName),
				"istio_sidecar_injector_config_map_name": r.revisioned(InjectorConfigMapName),
			},
		},
	})
	if err != nil {
		return nil, err
	}
	read := []string{"get", "list", "watch"}
	objs := []runtime.Object{r.addonServiceAccount(app)}
	objs = append(objs, r.addonClusterAccess(app, []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "endpoints", "namespaces", "nodes", "pods", "pods/log", "pods/proxy", "replicationcontrollers", "services"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"pods/portforward"}, Verbs: []string{"create", "post"}},
		{APIGroups: []string{"apps", "batch", "autoscaling", "discovery.k8s.io", "networking.k8s.io", "gateway.networking.k8s.io"}, Resources: []string{"*"}, Verbs: read},
		{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}, Resources: []string{"*"}, Verbs: read},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, Verbs: read},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}, Verbs: []string{"create"}},
	})...)
	return append(objs,
		r.addonConfigMap(app, map[string]string{"config.yaml": string(config)}),
		r.service(app, r.ns, map[string]string{"app": app}, map[string]string{"app": app}, corev1.ServiceTypeClusterIP,
			[]corev1.ServicePort{tcpPort("http", PortKiali, PortKiali), tcpPort("http-metrics", 9090, 9090)}, spec.K8s),
		r.addonWorkload(app, spec, KialiImage, corev1.Container{
			Command:        []string{"/opt/kiali/kiali", "-config", "/kiali-configuration/config.yaml"},
			Env:            []corev1.EnvVar{fieldEnv("ACTIVE_NAMESPACE", "metadata.namespace")},
			Ports:          []corev1.ContainerPort{containerPort("api-port", PortKiali), containerPort("http-metrics", 9090)},
			ReadinessProbe: httpProbe("/kiali/healthz", PortKiali),
		}, "/kiali-configuration"),
	), nil
}
