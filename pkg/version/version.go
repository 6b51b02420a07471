// Package version reports Skiff's own version, from the module build information.
package version

import (
	"runtime"
	"runtime/debug"
)

// Base is the release this tree is working towards; builds from a VCS checkout append the commit.
const Base = "0.1.0-dev"

// Info describes a build.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns this binary's version information.
func Get() Info {
	info := Info{Version: Base, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				info.GitCommit = s.Value[:12]
			}
		}
	}
	return info
}
