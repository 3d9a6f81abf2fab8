//go:build !unix

package sqlitestore

// walIndex is not mapped on this system: each lookup is a read
// transaction of its own.
type walIndex struct{}

func mapWALIndex(string) *walIndex { return nil }

func (*walIndex) read(*walHeader)      {}
func (*walIndex) same(*walHeader) bool { return false }
func (*walIndex) unmap()               {}
