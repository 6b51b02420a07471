package xds

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// SynczPath is where the controller's monitoring port (15014) serves the Syncz document.
const SynczPath = "/debug/syncz"

// SyncState says whether a proxy applied the newest configuration of one xDS type, as `istioctl
// proxy-status` names it.
type SyncState string

const (
	// Synced: the proxy acknowledged the last response sent (matching nonce).
	Synced SyncState = "SYNCED"
	// Stale: a response was sent and not acknowledged yet, or the proxy rejected it (a NACK; see TypeSync.Error).
	Stale SyncState = "STALE"
	// NotSent: nothing of this type was sent on the proxy's streams.
	NotSent SyncState = "NOT SENT"
)

// Short names of the xDS types, the keys of ProxySync.Sync and ProxySync.Types.
const (
	CDS = "CDS"
	LDS = "LDS"
	RDS = "RDS"
	EDS = "EDS"
	SDS = "SDS"
)

// ReportedTypes lists the types every ProxySync reports a state for (NOT SENT when absent), in istioctl's
// column order; other types appear once sent.
func ReportedTypes() []string { return []string{CDS, LDS, EDS, RDS} }

// Syncz is the JSON document GET /debug/syncz returns:
//
//	{"controller": "istiod-7c9f-x2", "proxies": [{
//	  "id": "sidecar~10.1.0.7~web-1.shop~shop.svc.cluster.local",
//	  "cluster": "Kubernetes", "namespace": "shop", "pod": "web-1", "version": "1.24.0", "controller": "istiod-7c9f-x2",
//	  "sync": {"CDS": "SYNCED", "LDS": "STALE", "EDS": "SYNCED", "RDS": "NOT SENT"},
//	  "types": {"LDS": {"typeUrl": "...Listener", "protocol": "sotw", "status": "STALE",
//	    "sentVersion": "4", "sentNonce": "9", "sentAt": "...", "ackedVersion": "3", "ackedNonce": "6",
//	    "error": "...", "lastNack": {"version": "4", "nonce": "9", "error": "...", "at": "..."}}}}]}
//
// "sync" is the summary (one state per type); "types" the detail. Proxies are sorted by id.
type Syncz struct {
	// Controller is the pod (host) name of the controller that served the document; in the document
	// `skiff proxy-status -o json` merges from several replicas, their pod names, comma-separated.
	Controller string      `json:"controller,omitempty"`
	Proxies    []ProxySync `json:"proxies"`
}

// ProxySync is one connected proxy (node ID) and the sync state of each xDS type sent to it.
type ProxySync struct {
	ID string `json:"id"`
	// From the node metadata (CLUSTER_ID, NAMESPACE, NAME, ISTIO_VERSION) or, failing that, the node ID
	// (pod, namespace) and user agent (version); empty when unknown.
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Version   string `json:"version,omitempty"`
	// Controller is the controller pod the proxy is connected to (readers merging several replicas'
	// documents tell them apart by it).
	Controller string `json:"controller,omitempty"`
	// Sync has one state per type: always CDS, LDS, EDS and RDS, plus any other type sent.
	Sync map[string]SyncState `json:"sync"`
	// Types has the detail of every type the proxy subscribed to or was sent: a NOT SENT type listed here
	// is one the proxy waits for, while one absent was never asked for (a gateway without routes).
	Types map[string]TypeSync `json:"types,omitempty"`
}

// TypeSync is the detail of one xDS type on the proxy's stream that last sent it.
type TypeSync struct {
	TypeURL  string    `json:"typeUrl"`
	Protocol string    `json:"protocol"` // "sotw" (state of the world) or "delta"
	Status   SyncState `json:"status"`
	// Sent is the last response: its version (delta: the system version) and nonce.
	SentVersion string    `json:"sentVersion,omitempty"`
	SentNonce   string    `json:"sentNonce,omitempty"`
	SentAt      time.Time `json:"sentAt,omitzero"`
	// Acked is the last response the proxy accepted.
	AckedVersion string    `json:"ackedVersion,omitempty"`
	AckedNonce   string    `json:"ackedNonce,omitempty"`
	AckedAt      time.Time `json:"ackedAt,omitzero"`
	// Error is why the type is STALE when the proxy's last answer was a NACK. Skiff's server does not
	// resend rejected content, but a server that does makes the NACKed nonce not the last one sent.
	Error string `json:"error,omitempty"`
	// LastNack is the last response the proxy rejected, kept after later ACKs as history.
	LastNack *Nack `json:"lastNack,omitempty"`
}

// Nack is a rejected response and the proxy's reason.
type Nack struct {
	Version string    `json:"version,omitempty"`
	Nonce   string    `json:"nonce"`
	Error   string    `json:"error"`
	At      time.Time `json:"at,omitzero"`
}

// state computes Status: acknowledged nonces are what counts, as in Istio, since a version can repeat.
// nacked says the proxy's last answer for the type was a rejection.
func (t TypeSync) state(nacked bool) SyncState {
	switch {
	case t.SentNonce == "":
		return NotSent
	case t.AckedNonce == t.SentNonce && !nacked:
		return Synced
	}
	return Stale
}

// ParseSyncz reads a Syncz document and checks what its readers rely on: every proxy has an id and only
// known states. Types missing from "sync" read as NOT SENT.
func ParseSyncz(body []byte) (*Syncz, error) {
	var doc Syncz
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not the JSON document expected: %v", err)
	}
	for i := range doc.Proxies {
		p := &doc.Proxies[i]
		if p.ID == "" {
			return nil, fmt.Errorf("proxy %d has no id", i+1)
		}
		if p.Sync == nil {
			p.Sync = map[string]SyncState{}
		}
		for typ, s := range p.Sync {
			if s != Synced && s != Stale && s != NotSent {
				return nil, fmt.Errorf("proxy %s: unknown sync state %q for %s", p.ID, s, typ)
			}
		}
		for _, typ := range ReportedTypes() {
			if _, ok := p.Sync[typ]; !ok {
				p.Sync[typ] = NotSent
			}
		}
	}
	return &doc, nil
}

// shortType names a type URL as istioctl does (CDS, LDS, ...); other types keep their URL.
func shortType(typeURL string) string {
	switch typeURL {
	case resource.ClusterType:
		return CDS
	case resource.ListenerType:
		return LDS
	case resource.RouteType:
		return RDS
	case resource.EndpointType:
		return EDS
	case resource.SecretType:
		return SDS
	}
	return typeURL
}

// Waiting reports whether the proxy subscribed to typ and was sent nothing yet.
func (p ProxySync) Waiting(typ string) bool {
	d, ok := p.Types[typ]
	return ok && p.Sync[typ] == NotSent && d.SentNonce == ""
}
