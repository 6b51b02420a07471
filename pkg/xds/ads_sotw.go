package xds

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sotwStream is one state-of-the-world ADS stream. Only its handler goroutine touches it.
type sotwStream struct {
	srv    *Server
	id     int64
	nodeID string
	stream discoverygrpc.AggregatedDiscoveryService_StreamAggregatedResourcesServer
	wake   chan struct{}
	nonce  uint64
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
	st := &sotwStream{srv: s, id: s.ids.Add(1), stream: stream, wake: make(chan struct{}, 1), types: map[string]*sotwType{}}
	defer func() {
		s.sync.closed(st.id, false)
		if st.nodeID != "" {
			s.detach(st.id, st.nodeID)
		}
	}()
	names := newNamesSeen()
	reqs, errc := receive(stream.Context(), func() (*sotwRequest, error) {
		r := &sotwRequest{DiscoveryRequest: &discoverygrpc.DiscoveryRequest{}, names: names}
		return r, stream.RecvMsg(r)
	})
	for {
		var err error
		select {
		case req := <-reqs:
			err = st.onRequest(req)
		case <-st.wake:
			err = st.push()
		case err = <-errc:
			if errors.Is(err, io.EOF) {
				return nil
			}
		case <-s.ctx.Done():
			err = status.Error(codes.Unavailable, "the control plane is shutting down")
		}
		if err != nil {
			s.log.Debugf("ADS stream %d of %q ends: %v", st.id, st.nodeID, err)
			return err
		}
	}
}

func (st *sotwStream) onRequest(req *sotwRequest) error {
	s := st.srv
	if st.nodeID == "" {
		if req.GetNode().GetId() == "" {
			return status.Error(codes.InvalidArgument, "the first request of a stream must carry the node and its id")
		}
		st.nodeID = req.GetNode().GetId()
		s.attach(st.id, req.GetNode(), st.wake)
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
	return st.send(url, resp)
}

// push sends each subscribed type's changes from the current generation, in pushOrder.
func (st *sotwStream) push() error {
	if st.nodeID == "" {
		return nil
	}
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
		if err := st.send(url, resp); err != nil {
			return err
		}
	}
	return nil
}

// send writes a shared response with this stream's nonce.
func (st *sotwStream) send(url string, resp *encodedResponse) error {
	st.nonce++
	nonce := strconv.FormatUint(st.nonce, 10)
	st.srv.sync.response(st.id, nil, false, url, resp.version, nonce)
	if err := st.stream.SendMsg(&sharedResponse{encodedResponse: resp, nonce: nonce}); err != nil {
		if status.Code(err) == codes.Internal {
			return fmt.Errorf("%w (was the gRPC server created with xds.GRPCServerOptions?)", err)
		}
		return err
	}
	return nil
}
