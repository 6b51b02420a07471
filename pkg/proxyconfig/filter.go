package proxyconfig

import "strings"

// Filter narrows the rows of a view; zero fields match everything. Each view uses the fields that make
// sense for it: clusters FQDN, Port, Subset, Direction; listeners Address, Port; routes Name; endpoints
// Cluster, Address, Port.
type Filter struct {
	FQDN      string
	Port      int
	Subset    string
	Direction string
	Name      string
	Cluster   string
	Address   string
}

// hostMatches accepts the full hostname or its leading labels: "reviews" and "reviews.default" both
// match reviews.default.svc.cluster.local, as istioctl's --fqdn does.
func hostMatches(filter, fqdn string) bool {
	return filter == "" || fqdn == filter || strings.HasPrefix(fqdn, filter+".")
}
