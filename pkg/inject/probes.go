package inject

import (
	"encoding/json"
	"fmt"
	"strings"
)

// probeKinds maps a container's probe fields to the agent's /app-health/<container>/<suffix> endpoints.
var probeKinds = [...]struct{ field, suffix string }{
	{"readinessProbe", "readyz"},
	{"livenessProbe", "livez"},
	{"startupProbe", "startupz"},
}

// probeActions are the probe handlers the agent can run on the kubelet's behalf.
var probeActions = [...]string{"httpGet", "tcpSocket", "grpc"}

// rewriteAppProbes points the app containers' HTTP/TCP/gRPC probes at the agent's status port (the
// kubelet cannot reach the app through mTLS-only inbound listeners) and returns the originals, keyed by
// the new path, as Istio's ISTIO_KUBE_APP_PROBERS JSON expects, with named ports resolved to numbers.
// named records which paths had named ports, so uninject can restore the names.
func rewriteAppProbes(spec map[string]any, statusPort int32) (probers map[string]any, named map[string]string) {
	probers = map[string]any{}
	named = map[string]string{}
	for _, ci := range list(spec, "containers") {
		c, ok := ci.(map[string]any)
		if !ok || name(c) == ProxyContainer {
			continue
		}
		for _, k := range probeKinds {
			probe, ok := c[k.field].(map[string]any)
			if !ok {
				continue
			}
			path := fmt.Sprintf("/app-health/%s/%s", name(c), k.suffix)
			action, handler := probeAction(probe)
			if handler == nil {
				continue
			}
			original := deepCopy(handler).(map[string]any)
			if p, isName := original["port"].(string); isName && action != "grpc" {
				n, found := containerPort(c, p)
				if !found {
					continue // the kubelet will report the unknown port; nothing for the agent to run
				}
				original["port"] = n
				named[path] = p
			} else if portNumber(original["port"]) == int64(statusPort) {
				continue // already points at the agent
			}
			entry := map[string]any{action: original}
			if t, ok := probe["timeoutSeconds"]; ok {
				entry["timeoutSeconds"] = t
			}
			probers[path] = entry

			rewritten := map[string]any{}
			if action == "httpGet" {
				rewritten = deepCopy(handler).(map[string]any)
				if rewritten["scheme"] == "HTTPS" {
					rewritten["scheme"] = "HTTP" // kubelet -> HTTP -> agent -> HTTPS -> app
				}
			}
			rewritten["path"] = path
			rewritten["port"] = int64(statusPort)
			delete(probe, action)
			probe["httpGet"] = rewritten
		}
	}
	return probers, named
}

// restoreAppProbes undoes rewriteAppProbes from the proxy's ISTIO_KUBE_APP_PROBERS value.
func restoreAppProbes(spec map[string]any, probersJSON string, named map[string]string) error {
	var probers map[string]map[string]any
	if err := json.Unmarshal([]byte(probersJSON), &probers); err != nil {
		return fmt.Errorf("env %s is not valid JSON: %v", EnvAppProbers, err)
	}
	for _, ci := range list(spec, "containers") {
		c, ok := ci.(map[string]any)
		if !ok {
			continue
		}
		for _, k := range probeKinds {
			probe, ok := c[k.field].(map[string]any)
			if !ok {
				continue
			}
			path := fmt.Sprintf("/app-health/%s/%s", name(c), k.suffix)
			entry, ok := probers[path]
			get, _ := probe["httpGet"].(map[string]any)
			if !ok || get == nil || get["path"] != path {
				continue
			}
			delete(probe, "httpGet")
			for _, a := range probeActions {
				if h, ok := entry[a].(map[string]any); ok {
					if n, ok := named[path]; ok {
						h["port"] = n
					}
					probe[a] = h
				}
			}
		}
	}
	return nil
}

func probeAction(probe map[string]any) (string, map[string]any) {
	for _, a := range probeActions {
		if h, ok := probe[a].(map[string]any); ok {
			return a, h
		}
	}
	return "", nil
}

func containerPort(c map[string]any, portName string) (int64, bool) {
	for _, pi := range list(c, "ports") {
		if p, ok := pi.(map[string]any); ok && p["name"] == portName {
			if n := portNumber(p["containerPort"]); n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func portNumber(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		var i int64
		if _, err := fmt.Sscan(strings.TrimSpace(n), &i); err == nil {
			return i
		}
	}
	return -1
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
