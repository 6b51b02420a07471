package controller

import "os"

// podName names this controller in /debug/syncz: a pod's hostname is its name.
func podName() string {
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	return name
}
