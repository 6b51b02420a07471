package analyze

import (
	networking "istio.io/api/networking/v1alpha3"
)

// envoyFilterAnalyzer reports EnvoyFilters without priority that use relative patch operations (IST0151).
func envoyFilterAnalyzer() Analyzer {
	return Analyzer{
		Name:        "envoyfilter.EnvoyPatchAnalyzer",
		Description: "Checks an envoyFilters",
		Codes:       []MessageType{EnvoyFilterUsesRelativeOperation},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("EnvoyFilter") {
				ef := envoyFilter(r)
				if ef == nil || ef.GetPriority() != 0 {
					continue
				}
				for i, p := range ef.GetConfigPatches() {
					switch p.GetPatch().GetOperation() {
					case networking.EnvoyFilter_Patch_INSERT_BEFORE, networking.EnvoyFilter_Patch_INSERT_AFTER,
						networking.EnvoyFilter_Patch_REPLACE, networking.EnvoyFilter_Patch_REMOVE:
						report(newMessage(EnvoyFilterUsesRelativeOperation, r, r.Line("spec", "configPatches", i, "patch", "operation")))
					}
				}
			}
		},
	}
}
