package model

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// MeshConfigMapName and MeshConfigKey locate the mesh config, as Istio names them: the "mesh" key of the
// istio ConfigMap (istio-<revision> for a revision) in the mesh namespace.
const (
	MeshConfigMapName = "istio"
	MeshConfigKey     = "mesh"
)

// ParseMeshConfig reads a mesh config (YAML or JSON). Unknown fields are ignored, as Istio does, so a
// newer Istio's settings do not stop the mesh. enableTracing keeps Istio's default (true) when absent.
func ParseMeshConfig(data []byte) (*meshv1alpha1.MeshConfig, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	mc := &meshv1alpha1.MeshConfig{}
	if s := strings.TrimSpace(string(js)); s == "" || s == "null" {
		mc.EnableTracing = true
		return mc, nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, mc); err != nil {
		return nil, fmt.Errorf("mesh config: %s", strings.TrimPrefix(err.Error(), "proto: "))
	}
	var fields map[string]any
	if err := yaml.Unmarshal(js, &fields); err == nil {
		if _, set := fields["enableTracing"]; !set {
			mc.EnableTracing = true
		}
	}
	return mc, nil
}

// addMeshConfig takes the mesh config from the istio ConfigMap when the input files include it, so that
// offline tools translate with the mesh's Telemetry providers.
func addMeshConfig(in *Input, cm *corev1.ConfigMap) error {
	data, ok := cm.Data[MeshConfigKey]
	if cm.Name != MeshConfigMapName || !ok {
		return nil
	}
	mc, err := ParseMeshConfig([]byte(data))
	if err != nil {
		return fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	in.MeshConfig = mc
	return nil
}
