package patkit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKey returns the instance key kept in the file at path,
// creating the file with MinKeyLen random bytes and mode 0600 if it does
// not exist; created reports whether it did. Several processes may call it
// at once: one creates the file and the others read it.
//
// An existing file is refused, with nothing read, if it is a symbolic link
// or can be read or written by anyone but its owner (mode & 0o077 != 0):
// whoever reads the key can forge nothing, but can test stolen digests
// offline; whoever writes it can lock every token out. A file shorter than
// MinKeyLen is refused too.
//
// Keep the key with the database and back it up: tokens digested under a
// lost key never authenticate again.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	key, err = readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, MinKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("patkit: key: %w", err)
	}
	// Write a temporary file, then link it into place: the key appears
	// whole or not at all, and a concurrent creator's link fails.
	f, err := os.CreateTemp(filepath.Dir(path), ".patkit-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("patkit: key: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(key) // CreateTemp makes the file 0600
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(f.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		key, err = readKey(path) // another process created it first
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("patkit: key: %w", err)
	}
	return key, true, nil
}

// readKey reads an existing key file, refusing links and files others may
// access.
func readKey(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("patkit: key file %s is a symbolic link; refusing it", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("patkit: key file %s is not a regular file", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("patkit: key file %s has mode %#o; it must be accessible to its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("patkit: key: %w", err)
	}
	if len(b) < MinKeyLen {
		return nil, fmt.Errorf("patkit: key file %s holds %d bytes, need at least %d", path, len(b), MinKeyLen)
	}
	return b, nil
}
