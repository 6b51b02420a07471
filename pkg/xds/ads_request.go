package xds

import (
	"hash/maphash"

	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// sotwRequest is a DiscoveryRequest as a stream receives it. A sidecar repeats its thousands of
// endpoint names in every request, ACKs included; when they are those of the previous request of the
// same type, sharedResponseCodec leaves them undecoded and sets sameNames, which saves allocating
// every name on every ACK.
type sotwRequest struct {
	*discoverygrpc.DiscoveryRequest
	sameNames bool
	// names is the receiving goroutine's record of each type's last names (a hash); only it touches it.
	names *namesSeen
}

// namesSeen remembers, per type URL, a hash of the resource names last received, in order.
type namesSeen struct {
	seed maphash.Seed
	last map[string]uint64
}

func newNamesSeen() *namesSeen {
	return &namesSeen{seed: maphash.MakeSeed(), last: map[string]uint64{}}
}

func (r *sotwRequest) unmarshal(data mem.BufferSlice) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	typeURL, hash, ok := r.names.scan(b)
	if !ok {
		return proto.Unmarshal(b, r.DiscoveryRequest) // malformed: let proto report it
	}
	if prev, seen := r.names.last[typeURL]; seen && prev == hash {
		r.sameNames = true
		return proto.Unmarshal(withoutField(b, 3), r.DiscoveryRequest)
	}
	r.names.last[typeURL] = hash
	return proto.Unmarshal(b, r.DiscoveryRequest)
}

// scan reads type_url (field 4) and hashes resource_names (field 3) without allocating.
func (n *namesSeen) scan(b []byte) (typeURL string, hash uint64, ok bool) {
	var h maphash.Hash
	h.SetSeed(n.seed)
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return "", 0, false
		}
		b = b[l:]
		vl := protowire.ConsumeFieldValue(num, typ, b)
		if vl < 0 {
			return "", 0, false
		}
		if typ == protowire.BytesType && (num == 3 || num == 4) {
			v, _ := protowire.ConsumeBytes(b)
			if num == 3 {
				h.Write(v)
				h.WriteByte(0)
			} else {
				typeURL = string(v)
			}
		}
		b = b[vl:]
	}
	return typeURL, h.Sum64(), true
}

// withoutField copies b without the occurrences of field num; b is well-formed (scan said so).
func withoutField(b []byte, num protowire.Number) []byte {
	out := make([]byte, 0, 256)
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		vl := protowire.ConsumeFieldValue(n, typ, b[l:])
		if n != num {
			out = append(out, b[:l+vl]...)
		}
		b = b[l+vl:]
	}
	return out
}
