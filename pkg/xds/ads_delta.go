package xds

import (
	"maps"
	"slices"
	"time"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// deltaStream is one incremental ADS stream (what Envoy uses). Only its handler goroutine touches it.
type deltaStream struct {
	adsStream
	stream discoverygrpc.AggregatedDiscoveryService_DeltaAggregatedResourcesServer
	types  map[string]*deltaType
}

// deltaType is one type's subscription and what the proxy has of it. After the first sync that is
// exactly synced's resources within syncedScope: a pointer to shared state, nothing per resource, which
// matters with thousands of proxies each holding thousands of endpoint assignments.
type deltaType struct {
	wildcard bool
	names    subsKey // explicitly subscribed names (never wildcard)

	synced      *typeView
	syncedScope subsKey
	// initial is what the proxy said it had when it connected (initial_resource_versions), until the
	// first sync.
	initial map[string]string
}

// scope is what the proxy asks for now.
func (t *deltaType) scope() subsKey {
	if t.wildcard {
		return subsKey{wildcard: true}
	}
	return t.names
}

// DeltaAggregatedResources serves one incremental ADS stream.
func (s *Server) DeltaAggregatedResources(stream discoverygrpc.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	st := &deltaStream{adsStream: s.newStream(true), stream: stream, types: map[string]*deltaType{}}
	return serve(stream.Context(), &st.adsStream, stream.Recv, st.onRequest, st.push)
}

func (st *deltaStream) onRequest(req *discoverygrpc.DeltaDiscoveryRequest) error {
	s := st.srv
	if err := st.identify(req.GetNode()); err != nil {
		return err
	}
	url := req.GetTypeUrl()
	s.sync.request(st.id, req.GetNode(), true, url, "", req.GetResponseNonce(), nackOf(req.GetErrorDetail()))
	if !slices.Contains(pushOrder, url) {
		s.log.Debugf("node %q asked for type %q, which is not served", st.nodeID, url)
		return nil
	}
	subscribe := req.GetResourceNamesSubscribe()
	if url == resource.ListenerType {
		s.requestedListeners(st.nodeID, subscribe)
	}
	t := st.types[url]
	first := t == nil
	if first {
		// Envoy's legacy wildcard: a first request naming no listeners or clusters.
		t = &deltaType{wildcard: len(subscribe) == 0 && cachev3.ResourceRequiresFullStateInSotw(url),
			names: newSubsKey(nil, false), initial: req.GetInitialResourceVersions()}
		st.types[url] = t
	}
	unsubscribe := req.GetResourceNamesUnsubscribe()
	if len(subscribe) > 0 || len(unsubscribe) > 0 {
		names := namesSet(t.names)
		for _, n := range subscribe {
			if n == "*" {
				t.wildcard = true
			} else {
				names[n] = true
			}
		}
		for _, n := range unsubscribe {
			if n == "*" {
				t.wildcard = false
			} else {
				delete(names, n)
			}
		}
		t.names = newSubsKey(slices.Collect(maps.Keys(names)), false)
	} else if !first {
		return nil // an ACK or a NACK
	}
	// A changed subscription is synced at once; that also forgets unsubscribed names, so the proxy
	// gets them again if it asks again.
	return st.sync(url, t, s.view(st.nodeID).typ(url), first, time.Time{})
}

func (st *deltaStream) push() error {
	cv := st.srv.view(st.nodeID)
	for _, url := range pushOrder {
		if t := st.types[url]; t != nil {
			if err := st.sync(url, t, cv.typ(url), false, cv.born); err != nil {
				return err
			}
		}
	}
	return nil
}

// sync sends what the proxy lacks of view and removes what view no longer has; an empty response only
// when always is set (a first subscription must be answered). pushed is as for sotwStream.send.
func (st *deltaStream) sync(url string, t *deltaType, view *typeView, always bool, pushed time.Time) error {
	scope := t.scope()
	var d *deltaChange
	if t.synced == nil {
		d = view.deltaFrom(t.initial, scope)
	} else {
		d = view.deltaSince(t.synced, t.syncedScope, scope)
	}
	t.synced, t.syncedScope, t.initial = view, scope, nil
	if len(d.resources) == 0 && len(d.removed) == 0 && !always {
		return nil
	}
	out := &discoverygrpc.DeltaDiscoveryResponse{TypeUrl: url, SystemVersionInfo: view.version,
		Resources: d.resources, RemovedResources: d.removed, Nonce: st.nextNonce()}
	st.srv.sync.response(st.id, nil, true, url, out.SystemVersionInfo, out.Nonce)
	if err := st.stream.Send(out); err != nil {
		return err
	}
	st.srv.metrics.sent(url, len(out.Resources), pushed)
	return nil
}
