package xds

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// GRPCServerOptions are the options the gRPC server serving ADS must be created with: its codec writes
// the shared encodings of state-of-the-world responses without copying them per stream, and skips
// decoding the resource names an ACK repeats.
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(newSharedResponseCodec()),
		// Per-connection buffers are much of what a connected proxy costs; responses are large and rare.
		grpc.SharedWriteBuffer(true),
		grpc.ReadBufferSize(4 << 10),
	}
}

// sharedResponse is a DiscoveryResponse as one stream sends it: resources encoded once for all streams,
// plus the stream's nonce.
type sharedResponse struct {
	*encodedResponse
	nonce string
}

// sharedResponseCodec is gRPC's proto codec, plus sharedResponse written as the buffers it shares and
// sotwRequest read without repeated resource names.
type sharedResponseCodec struct{ proto encoding.CodecV2 }

func newSharedResponseCodec() sharedResponseCodec {
	return sharedResponseCodec{proto: encoding.GetCodecV2(protoenc.Name)}
}

func (c sharedResponseCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*sharedResponse); ok {
		return r.buffers(), nil
	}
	return c.proto.Marshal(v)
}

func (c sharedResponseCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*sotwRequest); ok {
		return r.unmarshal(data)
	}
	return c.proto.Unmarshal(data, v)
}

func (c sharedResponseCodec) Name() string { return c.proto.Name() }

// buffers is the wire form: version_info (1), type_url (4) and nonce (5), then each resource (2). Field
// order does not matter to protobuf parsers.
func (r *sharedResponse) buffers() mem.BufferSlice {
	head := protowire.AppendTag(nil, 1, protowire.BytesType)
	head = protowire.AppendString(head, r.version)
	head = protowire.AppendTag(head, 4, protowire.BytesType)
	head = protowire.AppendString(head, r.url)
	head = protowire.AppendTag(head, 5, protowire.BytesType)
	head = protowire.AppendString(head, r.nonce)
	out := make(mem.BufferSlice, 0, len(r.resources)+1)
	out = append(out, mem.SliceBuffer(head))
	for _, e := range r.resources {
		out = append(out, e.buf)
	}
	return out
}
