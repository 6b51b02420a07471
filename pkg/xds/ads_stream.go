package xds

import (
	"context"
	"errors"
	"io"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// adsStream is what streams of both protocols have: their identity, their node, the wake-up a push
// sends and their nonces. Only the stream's handler goroutine touches it.
type adsStream struct {
	srv    *Server
	id     int64
	delta  bool
	nodeID string
	wake   chan struct{}
	nonce  uint64
}

func (s *Server) newStream(delta bool) adsStream {
	return adsStream{srv: s, id: s.ids.Add(1), delta: delta, wake: make(chan struct{}, 1)}
}

// identify takes the node from the stream's first request; later requests need not repeat it.
func (st *adsStream) identify(node *corev3.Node) error {
	if st.nodeID != "" {
		return nil
	}
	if node.GetId() == "" {
		return status.Error(codes.InvalidArgument, "the first request of a stream must carry the node and its id")
	}
	st.nodeID = node.GetId()
	st.srv.attach(st.id, node, st.wake)
	return nil
}

func (st *adsStream) nextNonce() string {
	st.nonce++
	return strconv.FormatUint(st.nonce, 10)
}

// serve handles a stream's requests and pushes, one at a time, until it ends.
func serve[T any](ctx context.Context, st *adsStream, recv func() (T, error), onRequest func(T) error, push func() error) error {
	s := st.srv
	defer func() {
		s.sync.closed(st.id, st.delta)
		if st.nodeID != "" {
			s.detach(st.id, st.nodeID)
		}
	}()
	reqs, errc := receive(ctx, recv)
	for {
		var err error
		select {
		case req := <-reqs:
			err = onRequest(req)
		case <-st.wake:
			if st.nodeID != "" {
				err = push()
			}
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

// receive runs recv in a goroutine until it fails, delivering what it reads, so a stream's one sending
// goroutine can also wait for pushes. The goroutine ends with the stream's context.
func receive[T any](ctx context.Context, recv func() (T, error)) (<-chan T, <-chan error) {
	msgs, errc := make(chan T), make(chan error, 1)
	go func() {
		for {
			m, err := recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return msgs, errc
}
