package xds

import (
	"sync"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"

	"skiff.dev/skiff/pkg/model"
)

// sharedWork is what the classes of one generation share while they are generated: the GenerateCache,
// and the encoding of each resource it handed out, so a cluster a hundred classes have is built and
// marshalled once. It lives only while some class is generating: the cache holds tens of MB of protos
// at a thousand services that an idle generation has no use for (its classes keep their encodings).
type sharedWork struct {
	mu    sync.Mutex
	users int
	cur   *sharedState
}

type sharedState struct {
	cache *GenerateCache

	mu      sync.Mutex
	encoded map[types.Resource]*encodedResource
}

// acquire returns the current shared state, creating it when no class is generating; release it after.
func (w *sharedWork) acquire(mesh *model.Mesh) *sharedState {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil {
		w.cur = &sharedState{cache: NewGenerateCache(mesh), encoded: map[types.Resource]*encodedResource{}}
	}
	w.users++
	return w.cur
}

func (w *sharedWork) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.users--; w.users == 0 {
		w.cur = nil
	}
}

// encode is interned.encode, once per shared resource.
func (s *sharedState) encode(interned *internTable, url string, res types.Resource) *encodedResource {
	if !s.cache.isShared(res) {
		return interned.encode(url, cachev3.GetResourceName(res), res)
	}
	s.mu.Lock()
	e, ok := s.encoded[res]
	s.mu.Unlock()
	if ok {
		return e
	}
	e = interned.encode(url, cachev3.GetResourceName(res), res)
	s.mu.Lock()
	s.encoded[res] = e
	s.mu.Unlock()
	return e
}
