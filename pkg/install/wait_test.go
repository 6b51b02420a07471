package install

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeploymentNotReady(t *testing.T) {
	two := int32(2)
	cases := []struct {
		name   string
		d      appsv1.Deployment
		reason string
	}{
		{"not observed", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1, AvailableReplicas: 1}},
			"rollout not observed by the deployment controller yet"},
		{"default one replica, none available", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1}},
			"0 of 1 replicas available"},
		{"old replicas", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: appsv1.DeploymentSpec{Replicas: &two}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1, AvailableReplicas: 2}},
			"1 of 2 replicas updated"},
		{"ready", appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: appsv1.DeploymentSpec{Replicas: &two}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 2, AvailableReplicas: 2}},
			""},
	}
	for _, c := range cases {
		if got := deploymentNotReady(&c.d); got != c.reason {
			t.Errorf("%s: got %q, want %q", c.name, got, c.reason)
		}
	}
}

func TestCRDNotReady(t *testing.T) {
	crd := func(conds ...apiextensionsv1.CustomResourceDefinitionCondition) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{Status: apiextensionsv1.CustomResourceDefinitionStatus{Conditions: conds}}
	}
	if got := crdNotReady(crd()); got != "not established yet" {
		t.Errorf("no conditions: %q", got)
	}
	if got := crdNotReady(crd(apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue})); got != "" {
		t.Errorf("established: %q", got)
	}
	got := crdNotReady(crd(apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionFalse, Message: "plural in use"}))
	if got != "names not accepted: plural in use" {
		t.Errorf("names conflict: %q", got)
	}
}
