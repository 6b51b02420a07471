package proxyconfig

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

func clusterHeaders() []string {
	return []string{"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"}
}

// clusterName is Istio's direction|port|subset|host naming; other clusters (PassthroughCluster, ...)
// have only a name.
type clusterName struct {
	fqdn, port, subset, direction string
}

func parseClusterName(name string) clusterName {
	parts := strings.SplitN(name, "|", 4)
	if len(parts) != 4 {
		return clusterName{fqdn: name, port: "-", subset: "-", direction: "-"}
	}
	return clusterName{direction: parts[0], port: orDash(parts[1]), subset: orDash(parts[2]), fqdn: orDash(parts[3])}
}

func (f Filter) keepCluster(c *clusterv3.Cluster) bool {
	n := parseClusterName(c.GetName())
	return hostMatches(f.FQDN, n.fqdn) &&
		(f.Port == 0 || n.port == strconv.Itoa(f.Port)) &&
		(f.Subset == "" || n.subset == f.Subset) &&
		(f.Direction == "" || n.direction == f.Direction)
}

func clusterRows(clusters []*clusterv3.Cluster) [][]string {
	rows := make([][]string, 0, len(clusters))
	for _, c := range clusters {
		n := parseClusterName(c.GetName())
		rows = append(rows, []string{n.fqdn, n.port, n.subset, n.direction, clusterType(c), istioConfig(c.GetMetadata(), "destination-rule")})
	}
	// istioctl's order: by host, then port numerically, then subset, then direction.
	slices.SortStableFunc(rows, func(a, b []string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(portNumber(a[1]), portNumber(b[1])), cmp.Compare(a[2], b[2]), cmp.Compare(a[3], b[3]))
	})
	return rows
}

// portNumber orders "-" (no port) first.
func portNumber(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func clusterType(c *clusterv3.Cluster) string {
	if ct := c.GetClusterType(); ct != nil {
		return ct.GetName()
	}
	return c.GetType().String()
}

// istioConfig names the Istio resource of a kind that produced an Envoy resource, as name.namespace, from
// the metadata Istio attaches: filter_metadata.istio.config = /apis/<group>/<version>/namespaces/<ns>/<kind>/<name>.
func istioConfig(md *corev3.Metadata, kind string) string {
	path := md.GetFilterMetadata()["istio"].GetFields()["config"].GetStringValue()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// apis, group, version, namespaces, <ns>, <kind>, <name>
	if len(parts) == 7 && parts[3] == "namespaces" && parts[5] == kind {
		return parts[6] + "." + parts[4]
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
