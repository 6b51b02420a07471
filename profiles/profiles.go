// Package profiles embeds Skiff's built-in install profiles. Each <name>.yaml is a SkiffOperator document;
// all but default name the profile they are layered on in spec.profile, as Istio's profiles are.
package profiles

import "embed"

// Files holds the built-in profiles, <name>.yaml each.
//
//go:embed *.yaml
var Files embed.FS
