package xds

import (
	"fmt"
	"slices"
	"time"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sotwStream is one state-of-the-world ADS stream. Only its handler goroutine touches it.
type sotwStream struct {
	adsStream
	stream discoverygrpc.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	types  map[string]*sotwType // by type URL
}

// sotwType is what one type's subscription asks for and what the stream last sent of it.
type sotwType struct {
	subs subsKey
	// sentView is the view the proxy has every subscribed resource of; sentVersion the version of the
	// last complete response, for the types sent in full.
	sentView    *typeView
	sentVersion string
}

// StreamAggregatedResources serves one state-of-the-world ADS stream.
func (s *Server) StreamAggregatedResources(stream discoverygrpc.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	st := &sotwStream{adsStream: s.newStream(false), stream: stream, types: map[string]*sotwType{}}
	names := newNamesSeen()
	recv := func() (*sotwRequest, error) {
		r := &sotwRequest{DiscoveryRequest: &discoverygrpc.DiscoveryRequest{}, names: names}
		return r, stream.RecvMsg(r)
	}
	return serve(stream.Context(), &st.adsStream, recv, st.onRequest, st.push)
}

func (st *sotwStream) onRequest(req *sotwRequest) error {
	s := st.srv
	if err := st.identify(req.GetNode()); err != nil {
		return err
	}
	url := req.GetTypeUrl()
	s.sync.request(st.id, req.GetNode(), false, url, req.GetVersionInfo(), req.GetResponseNonce(), nackOf(req.GetErrorDetail()))
	if !slices.Contains(pushOrder, url) {
		s.log.Debugf("node %q asked for type %q, which is not served", st.nodeID, url)
		return nil
	}
	t := st.types[url]
	if t != nil && req.sameNames {
		return nil // an ACK or NACK: nothing new is asked for
	}
	names := req.GetResourceNames()
	if url == resource.ListenerType {
		s.requestedListeners(st.nodeID, names)
	}
	// Envoy's legacy wildcard: no names for listeners or clusters; otherwise an explicit "*".
	wildcard := (len(names) == 0 && cachev3.ResourceRequiresFullStateInSotw(url)) || slices.Contains(names, "*")
	key := newSubsKey(names, wildcard)
	if t == nil {
		t = &sotwType{}
		st.types[url] = t
	}
	if t.sentView != nil && t.subs == key {
		return nil // the same names, in another order or decoded without sharedResponseCodec
	}
	// A new or changed subscription gets everything it names, even when nothing exists yet: an empty
	// answer tells a proxy waiting for its first listeners or clusters that there are none.
	t.subs = key
	view := s.view(st.nodeID).typ(url)
	resp := view.subset(key)
	t.sentView, t.sentVersion = view, resp.version
	return st.send(url, resp, time.Time{})
}

// push sends each subscribed type's changes from the current generation, in pushOrder.
func (st *sotwStream) push() error {
	cv := st.srv.view(st.nodeID)
	for _, url := range pushOrder {
		t := st.types[url]
		if t == nil {
			continue
		}
		view := cv.typ(url)
		var resp *encodedResponse
		if cachev3.ResourceRequiresFullStateInSotw(url) {
			resp = view.subset(t.subs)
			if resp.version == t.sentVersion {
				t.sentView = view
				continue
			}
		} else if resp = view.changedSince(t.sentView, t.subs); len(resp.resources) == 0 {
			t.sentView = view
			continue
		}
		t.sentView, t.sentVersion = view, resp.version
		if err := st.send(url, resp, cv.born); err != nil {
			return err
		}
	}
	return nil
}

// send writes a shared response with this stream's nonce; pushed is when the push it is part of began
// (zero for the answer to a request).
func (st *sotwStream) send(url string, resp *encodedResponse, pushed time.Time) error {
	nonce := st.nextNonce()
	st.srv.sync.response(st.id, nil, false, url, resp.version, nonce)
	if err := st.stream.SendMsg(&sharedResponse{encodedResponse: resp, nonce: nonce}); err != nil {
		if status.Code(err) == codes.Internal {
			return fmt.Errorf("%w (was the gRPC server created with xds.GRPCServerOptions?)", err)
		}
		return err
	}
	st.srv.metrics.sent(url, len(resp.resources), pushed)
	return nil
}
