package describe

import (
	"istio.io/api/annotation"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TemplateAnnotation marks a pod made from a workload's pod template; its value is "Kind/name".
const TemplateAnnotation = "skiff.dev/pod-template-of"

// workloadDoc is the part of a Deployment, StatefulSet, DaemonSet or ReplicaSet describe needs.
type workloadDoc struct {
	Kind     string            `json:"kind"`
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

// templatePods turns the pod templates of the workloads in files into pods named after their workload,
// so that files holding Deployments, as Istio's samples do, can be described like a cluster. A template
// counts as injected when the injector would inject it: sidecar.istio.io/inject=true, or a Namespace in
// the files labelled istio-injection=enabled (or with istio.io/rev) and no opt-out. Documents that do not
// parse are skipped: the model's decoder has reported them already.
func templatePods(docs [][]byte, namespace string) []*corev1.Pod {
	injectedNS := map[string]bool{}
	var workloads []workloadDoc
	for _, d := range docs {
		var w workloadDoc
		if yaml.Unmarshal(d, &w) != nil {
			continue
		}
		switch w.Kind {
		case "Namespace":
			v, set := w.Metadata.Labels["istio-injection"]
			_, rev := w.Metadata.Labels["istio.io/rev"]
			injectedNS[w.Metadata.Name] = v == "enabled" || (!set && rev)
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
			if w.Metadata.Namespace == "" {
				w.Metadata.Namespace = namespace
			}
			workloads = append(workloads, w)
		}
	}
	var out []*corev1.Pod
	for _, w := range workloads {
		t := w.Spec.Template
		pod := &corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
		pod.Name, pod.Namespace = w.Metadata.Name, w.Metadata.Namespace
		pod.Annotations = cloneWith(t.Annotations, TemplateAnnotation, w.Kind+"/"+w.Metadata.Name)
		inject := injectedNS[pod.Namespace]
		if v, ok := t.Labels[annotation.SidecarInject.Name]; ok {
			inject = v == "true"
		} else if v, ok := t.Annotations[annotation.SidecarInject.Name]; ok {
			inject = v == "true"
		}
		if inject {
			pod.Annotations = cloneWith(pod.Annotations, annotation.SidecarStatus.Name, `{"skiff":"would be injected"}`)
		}
		out = append(out, pod)
	}
	return out
}

func cloneWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}
