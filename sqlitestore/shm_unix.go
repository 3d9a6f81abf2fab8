//go:build unix

package sqlitestore

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is the start of a database's wal-index (its -shm file), mapped
// read-only: the two copies of the wal-index header, which every commit
// rewrites (SQLite's "WAL-mode File Format", walformat.html).
type walIndex struct{ b []byte }

// mapWALIndex maps the wal-index of the database file at path, or returns
// nil if it cannot (no -shm file, or one shorter than the header). The
// caller keeps a connection to the database open while it uses the
// mapping: SQLite truncates or deletes the file only when it has no other
// connection.
func mapWALIndex(path string) *walIndex {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() < int64(unsafe.Sizeof(walHeader{})) {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(unsafe.Sizeof(walHeader{})), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return &walIndex{b}
}

func (w *walIndex) words() *walHeader { return (*walHeader)(unsafe.Pointer(&w.b[0])) }

// read copies the header into h, one word at a time.
func (w *walIndex) read(h *walHeader) {
	p := w.words()
	for i := range h {
		h[i] = atomic.LoadUint32(&p[i])
	}
}

// same reports whether the header is still h.
func (w *walIndex) same(h *walHeader) bool {
	p := w.words()
	for i := range h {
		if atomic.LoadUint32(&p[i]) != h[i] {
			return false
		}
	}
	return true
}

func (w *walIndex) unmap() { syscall.Munmap(w.b) }
