package xds

import (
	"maps"
	"slices"
	"time"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// deltaStream is one incremental ADS stream (what Envoy uses). Only its handler goroutine touches it.
type deltaStream struct {
	adsStream
	stream discoverygrpc.AggregatedDiscoveryService_DeltaAggregatedResourcesServer
	types  map[string]*deltaType
}

// deltaType is one type's subscription and the version of each resource the proxy has.
type deltaType struct {
	wildcard bool
	names    map[string]bool
	has      map[string]string
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
		t = &deltaType{names: map[string]bool{}, has: map[string]string{}}
		maps.Copy(t.has, req.GetInitialResourceVersions())
		// Envoy's legacy wildcard: a first request naming no listeners or clusters.
		t.wildcard = len(subscribe) == 0 && cachev3.ResourceRequiresFullStateInSotw(url)
		st.types[url] = t
	}
	for _, n := range subscribe {
		if n == "*" {
			t.wildcard = true
		} else {
			t.names[n] = true
		}
	}
	for _, n := range req.GetResourceNamesUnsubscribe() {
		if n == "*" {
			t.wildcard = false
		} else {
			delete(t.names, n)
			delete(t.has, n)
		}
	}
	if !first && len(subscribe) == 0 {
		return nil // an ACK, a NACK or an unsubscription: nothing to send
	}
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
	scope := slices.Sorted(maps.Keys(t.names))
	if t.wildcard {
		scope = slices.Concat(view.names, slices.Collect(maps.Keys(t.has)), scope)
		slices.Sort(scope)
		scope = slices.Compact(scope)
	}
	out := &discoverygrpc.DeltaDiscoveryResponse{TypeUrl: url, SystemVersionInfo: view.version}
	for _, n := range scope {
		e := view.byName[n]
		if e == nil {
			if _, had := t.has[n]; had {
				out.RemovedResources = append(out.RemovedResources, n)
				delete(t.has, n)
			}
			continue
		}
		if t.has[n] == e.version {
			continue
		}
		out.Resources = append(out.Resources, &discoverygrpc.Resource{Name: n, Version: e.version,
			Resource: &anypb.Any{TypeUrl: url, Value: e.value}})
		t.has[n] = e.version
	}
	if len(out.Resources) == 0 && len(out.RemovedResources) == 0 && !always {
		return nil
	}
	out.Nonce = st.nextNonce()
	st.srv.sync.response(st.id, nil, true, url, out.SystemVersionInfo, out.Nonce)
	if err := st.stream.Send(out); err != nil {
		return err
	}
	st.srv.metrics.sent(url, len(out.Resources), pushed)
	return nil
}
