package analyze

import (
	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
)

// Key identifies an object: files override the cluster's copy of the object with the same key.
type Key struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String is the form used in messages and suppressions: "Kind ns/name", or "Kind name" when cluster-scoped.
func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// Origin says where an object came from.
type Origin struct {
	// File is the path as given on the command line ("-" is stdin); empty for cluster objects.
	File string
	// Line is the 1-based line of the object's first key in File.
	Line int
	// Cluster is true for objects read from the API server.
	Cluster bool
	// Synthetic marks objects Skiff adds itself (the default ingress gateway offline); they are never reported.
	Synthetic bool
}

// Resource is one decoded object.
type Resource struct {
	Key         Key
	APIVersion  string
	Labels      map[string]string
	Annotations map[string]string
	Origin      Origin

	// Spec is the decoded Istio API message for Istio kinds (nil when it could not be decoded).
	Spec proto.Message
	// Object is the decoded Kubernetes object for core kinds (*corev1.Service, *appsv1.Deployment, ...).
	Object any
	// Template is the pod template (labels, annotations, spec) for pods and workload controllers.
	Template *PodTemplate

	// node is the document's root mapping, kept for field line numbers; node lines are relative to the
	// document, lineOffset turns them into file lines.
	node       *yaml.Node
	lineOffset int
}

// Line returns the line of the field at path (map keys as strings, list indices as ints), falling back to the
// deepest existing ancestor and finally to the object's own line; 0 when the object has no file.
func (r *Resource) Line(path ...any) int {
	if r.Origin.File == "" {
		return 0
	}
	n := r.node
	line := r.Origin.Line
	for _, p := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						line = n.Content[i].Line + r.lineOffset
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p >= 0 && p < len(n.Content) {
				next = n.Content[p]
				line = next.Line + r.lineOffset
			}
		}
		if next == nil {
			break
		}
		n = resolveAlias(next)
	}
	return line
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// PodTemplate is what the analyzers need of a pod or of a controller's pod template.
type PodTemplate struct {
	Labels      map[string]string
	Annotations map[string]string
	// Containers are the container names; ProxyInjected is true when one of them is istio-proxy.
	Containers    []string
	ProxyInjected bool
	// Ports are the containers' declared ports.
	Ports []int32
	// RunAsUser1337Path is the field path of a runAsUser: 1337, nil when none.
	RunAsUser1337Path []any
	// templatePath is where the template's metadata lives in the object ("spec","template" for controllers).
	templatePath []any
}
