package controller

import (
	"encoding/json"
	"net/http"

	"skiff.dev/skiff/pkg/xds"
)

// serveProxies lists connected proxies: GET /debug/proxies.
func (c *Controller) serveProxies(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"proxies": c.xds.Proxies()})
}

// serveConfigDump returns one proxy's listeners, routes, clusters, endpoints and secrets (private keys
// redacted by ToYAML) as YAML: GET /debug/config_dump?proxy=<node id>.
func (c *Controller) serveConfigDump(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("proxy")
	res, ok := c.xds.ConfigFor(id)
	if !ok {
		http.Error(w, "no connected proxy "+id+" (see /debug/proxies)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	for _, part := range []struct {
		kind string
		yaml func() ([]byte, error)
	}{
		{"listeners", func() ([]byte, error) { return xds.ToYAML(res.Listeners) }},
		{"routes", func() ([]byte, error) { return xds.ToYAML(res.Routes) }},
		{"clusters", func() ([]byte, error) { return xds.ToYAML(res.Clusters) }},
		{"endpoints", func() ([]byte, error) { return xds.ToYAML(res.Endpoints) }},
		{"secrets", func() ([]byte, error) { return xds.ToYAML(res.Secrets) }},
	} {
		b, err := part.yaml()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("# " + part.kind + "\n" + part.kind + ":\n"))
		_, _ = w.Write(indent(b))
	}
}

func indent(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	out = append(out, ' ', ' ')
	for i, c := range b {
		out = append(out, c)
		if c == '\n' && i < len(b)-1 {
			out = append(out, ' ', ' ')
		}
	}
	return out
}
