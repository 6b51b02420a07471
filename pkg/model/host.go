package model

import "strings"

// ResolveHost turns a host as written in Istio config (short name, name.namespace, FQDN or wildcard) into
// the hostname it means, as Istio does: a name without a dot is a service in the config's namespace.
func ResolveHost(host, namespace, domainSuffix string) string {
	if host == "*" || strings.HasPrefix(host, "*.") || strings.Contains(host, ".") || namespace == "" {
		return host
	}
	return host + "." + namespace + ".svc." + domainSuffix
}

// HostMatches says whether a (possibly wildcard) config host covers hostname.
func HostMatches(pattern, hostname string) bool {
	if pattern == hostname || pattern == "*" {
		return true
	}
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(hostname, suffix)
	}
	return false
}

// KubeHostname is a Kubernetes service's DNS name.
func KubeHostname(name, namespace, domainSuffix string) string {
	return name + "." + namespace + ".svc." + domainSuffix
}
