package proxyconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/ui"
)

// RenderOptions picks what Render prints.
type RenderOptions struct {
	View   View
	Output Output
	Filter Filter
	// Now judges certificate validity in the secret view; zero means time.Now.
	Now time.Time
}

// Render prints one view of a dump: a short table, or the selected resources as JSON or YAML (a list of
// the view's resources; the whole dump for "all"). It is the only renderer, for live and translated
// dumps alike.
func Render(w io.Writer, dump *adminv3.ConfigDump, o RenderOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	s := extract(dump)
	if o.Output == JSON || o.Output == YAML {
		j, err := selectedJSON(dump, s, o)
		if err != nil {
			return err
		}
		return writeStructured(w, j, o.Output)
	}
	p := ui.NewPrinter(w)
	views := []View{o.View}
	if o.View == All {
		views = Views()[:len(Views())-1]
	}
	for i, v := range views {
		if o.View == All {
			if i > 0 {
				p.Plain("")
			}
			p.Plain("%s", p.Bold(sectionTitle(v)))
		}
		headers, rows := table(v, s, o)
		p.Table(headers, rows)
	}
	return nil
}

func sectionTitle(v View) string {
	return map[View]string{Cluster: "CLUSTERS", Listener: "LISTENERS", Route: "ROUTES", Endpoint: "ENDPOINTS", Secret: "SECRETS"}[v]
}

func table(v View, s sections, o RenderOptions) ([]string, [][]string) {
	switch v {
	case Listener:
		return listenerHeaders(), listenerRows(keep(s.listeners, o.Filter.keepListener))
	case Route:
		return routeHeaders(), routeRows(keep(s.routes, o.Filter.keepRoute))
	case Endpoint:
		return endpointHeaders(), endpointRows(keep(allEndpoints(s), o.Filter.keepEndpoint))
	case Secret:
		return secretHeaders(), secretRows(s.secrets, o.Now)
	default:
		return clusterHeaders(), clusterRows(keep(s.clusters, o.Filter.keepCluster))
	}
}

// selectedJSON is the JSON of what the view selects, Any payloads expanded.
func selectedJSON(dump *adminv3.ConfigDump, s sections, o RenderOptions) ([]byte, error) {
	switch o.View {
	case All:
		return marshal(dump)
	case Listener:
		return marshalList(keep(s.listeners, o.Filter.keepListener))
	case Route:
		return marshalList(keep(s.routes, o.Filter.keepRoute))
	case Endpoint:
		return marshalList(keep(s.endpoints, func(c *endpointv3.ClusterLoadAssignment) bool {
			return o.Filter.Cluster == "" || c.GetClusterName() == o.Filter.Cluster
		}))
	case Secret:
		var list []proto.Message
		for _, sec := range s.secrets {
			list = append(list, sec.secret)
		}
		return marshalList(list)
	default:
		return marshalList(keep(s.clusters, o.Filter.keepCluster))
	}
}

func marshal(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rendering %T: %w", m, err)
	}
	return b, nil
}

func marshalList[T proto.Message](list []T) ([]byte, error) {
	items := make([]json.RawMessage, 0, len(list))
	for _, m := range list {
		b, err := marshal(m)
		if err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	return json.Marshal(items)
}

func writeStructured(w io.Writer, j []byte, o Output) error {
	if o == YAML {
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, j, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

func keep[T any](items []T, ok func(T) bool) []T {
	var out []T
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
