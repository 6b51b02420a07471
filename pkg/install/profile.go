package install

import "errors"

// ProfileOptions selects a profile and customises it; install, manifest generate and kube-inject share it.
type ProfileOptions struct {
	Profile  string   // built-in profile name (default, demo, minimal, empty) or a file path
	Overlays []string // -f files, applied in order
	Sets     []string // --set path=value, applied after overlays
}

// Profile is a resolved, strictly decoded profile. TODO(install-render helper): real type.
type Profile struct{}

// LoadProfile resolves o to a Profile. TODO(install-render helper): real implementation.
func LoadProfile(o ProfileOptions) (*Profile, error) { return nil, errors.New("profiles: not implemented yet") }
