package install

import (
	"slices"
	"testing"
)

// TestProfilesRenderOnlyManagedKinds guards uninstall and prune: they find Skiff's objects by searching
// managedKinds (and the kinds of Skiff's own CRDs), so a profile rendering any other kind would leave
// objects behind.
func TestProfilesRenderOnlyManagedKinds(t *testing.T) {
	for _, name := range []string{"default", "demo", "minimal", "empty"} {
		ms := renderProfile(t, name)
		kinds := managedKinds()
		for _, m := range ms {
			kinds = withCRDKinds(kinds, m.Objects)
		}
		for _, m := range ms {
			for _, o := range m.Objects {
				if !slices.Contains(kinds, o.GroupVersionKind()) {
					t.Errorf("profile %s renders %s, a kind uninstall does not search (add it to managedKinds)", name, o.GroupVersionKind())
				}
				if o.GetLabels()[LabelInstallation] == "" || o.GetLabels()[LabelComponent] != string(m.Component) {
					t.Errorf("profile %s: %s lacks the install labels prune and uninstall rely on", name, describe(o))
				}
			}
		}
	}
}
