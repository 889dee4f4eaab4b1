package sftp

import (
	"sync"
)

// pier: pages come from one process-wide pool of buffers sized for the common packet, and a page is taken only
// once the packet's length is known. Upstream gives every session its own list of maxMsgLength (256 KiB) pages
// and takes one before reading each packet's length: an idle session holds a 256 KiB page while it waits, and a
// session with 64 requests in flight holds 16 MiB. Here a page is pageSize bytes (a 32 KiB WRITE with its header,
// or a 32 KiB DATA reply with room for its header), larger packets get a buffer of their own size, and released
// pages go back to the pool for any session. See third_party/README.md.

// pageSize fits the packets of a transfer at the default 32 KiB: a WRITE request (its 32 KiB of data plus the
// handle and offset) and the data of a READ reply plus dataHeaderLen.
const pageSize = 1<<15 + 1024

var pagePool = sync.Pool{New: func() any { return new([pageSize]byte) }}

type allocator struct {
	sync.Mutex
	// map key is the request order
	used map[uint32][][]byte
}

func newAllocator() *allocator {
	return &allocator{
		used: make(map[uint32][][]byte),
	}
}

// GetPage returns a buffer of at least size bytes (its length is its capacity), used by the request of
// requestOrderID until ReleasePages.
func (a *allocator) GetPage(requestOrderID uint32, size int) []byte {
	var result []byte
	if size <= pageSize {
		result = pagePool.Get().(*[pageSize]byte)[:]
	} else {
		result = make([]byte, size)
	}

	a.Lock()
	defer a.Unlock()
	// put result in used pages
	a.used[requestOrderID] = append(a.used[requestOrderID], result)

	return result
}

// ReleasePages returns the pages of requestOrderID to the pool: its response has been sent, and nothing refers to
// them any more.
func (a *allocator) ReleasePages(requestOrderID uint32) {
	a.Lock()
	used := a.used[requestOrderID]
	delete(a.used, requestOrderID)
	a.Unlock()

	for _, page := range used {
		if cap(page) == pageSize {
			pagePool.Put((*[pageSize]byte)(page[:pageSize]))
		}
	}
}

// Free forgets the pages of requests that were never answered (the session ended); the garbage collector takes
// them, since a worker may still hold one.
func (a *allocator) Free() {
	a.Lock()
	defer a.Unlock()

	a.used = make(map[uint32][][]byte)
}
