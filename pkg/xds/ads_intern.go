package xds

import (
	"crypto/sha256"
	"sync"
	"weak"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// encodedResource is one xDS resource marshalled once, framed as a DiscoveryResponse resources entry
// (an Any), and shared by every proxy class and generation that has the same resource.
type encodedResource struct {
	name string
	// version is a hash of the content: equal content gives an equal version, in every generation and
	// on every replica, so a rebuild that changes nothing sends nothing.
	version string
	framed  []byte     // field 2 of DiscoveryResponse: tag, length, Any{type_url, value}
	value   []byte     // the resource message within framed
	buf     mem.Buffer // framed, boxed once for the codec
}

// internTable deduplicates encoded resources by content across classes and generations: sidecars mostly
// get the same clusters and endpoints, and a push changes few of them. Entries are weak, so a resource
// no generation uses any more is collected; sweep drops the dead entries.
type internTable struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]weak.Pointer[encodedResource]
}

func newInternTable() *internTable {
	return &internTable{m: map[[sha256.Size]byte]weak.Pointer[encodedResource]{}}
}

// deterministic marshalling makes equal resources encode, and so hash, equally (maps in Structs).
var marshal = proto.MarshalOptions{Deterministic: true}

// encode returns the shared encoding of res; nil when it cannot be marshalled, which only invalid UTF-8
// in a string does (Kubernetes objects are valid UTF-8): a proxy is better served without such a
// resource than with a half-written one.
func (t *internTable) encode(url, name string, res types.Resource) *encodedResource {
	size := marshal.Size(res)
	anySize := protowire.SizeTag(1) + protowire.SizeBytes(len(url)) + protowire.SizeTag(2) + protowire.SizeBytes(size)
	framed := make([]byte, 0, protowire.SizeTag(2)+protowire.SizeBytes(anySize))
	framed = protowire.AppendTag(framed, 2, protowire.BytesType)
	framed = protowire.AppendVarint(framed, uint64(anySize))
	framed = protowire.AppendTag(framed, 1, protowire.BytesType)
	framed = protowire.AppendString(framed, url)
	framed = protowire.AppendTag(framed, 2, protowire.BytesType)
	framed = protowire.AppendVarint(framed, uint64(size))
	start := len(framed)
	framed, err := marshal.MarshalAppend(framed, res)
	if err != nil || len(framed)-start != size {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(name + "\x00"))
	h.Write(framed)
	var key [sha256.Size]byte
	h.Sum(key[:0])

	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.m[key].Value(); e != nil {
		return e
	}
	e := &encodedResource{name: name, version: shortHash(key[:]), framed: framed, value: framed[start:], buf: mem.SliceBuffer(framed)}
	t.m[key] = weak.Make(e)
	return e
}

// sweep forgets the resources that have been collected.
func (t *internTable) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.m {
		if p.Value() == nil {
			delete(t.m, k)
		}
	}
}
