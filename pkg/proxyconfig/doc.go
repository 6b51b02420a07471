// Package proxyconfig shows what an Envoy proxy is configured with, istioctl proxy-config style. Every
// view is rendered from an Envoy admin.v3.ConfigDump, whatever its source: a live proxy's
// /config_dump fetched through a port-forward, or the control plane's translation of YAML files wrapped
// into the same dump. Both sources therefore share one renderer.
package proxyconfig
