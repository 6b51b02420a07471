package kube

import (
	"flag"
	"strconv"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// ConfigureClientLogs silences client-go's own logging (klog), which otherwise prints multi-line
// "Unhandled Error" reports next to Skiff's one-line errors, unless -v asks for it; then -v sets its level.
// klog is process-wide, so only the root command calls this, once.
func ConfigureClientLogs(verbosity int) {
	if verbosity <= 0 {
		klog.SetLogger(logr.Discard())
		return
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
}
