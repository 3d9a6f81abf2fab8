package patkit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKey returns the instance key kept in the file at path,
// creating the file with MinKeyLen random bytes and mode 0600 if it does
// not exist; created reports whether it did. Several processes may call it
// at once: one creates the file and the others read it. An existing file
// is read with ReadSecretFile, so a link or a file others may access is
// refused; so is one shorter than MinKeyLen.
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
	err = WriteSecretFile(path, key)
	if errors.Is(err, fs.ErrExist) {
		key, err = readKey(path) // another process created it first
		return key, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

func readKey(path string) ([]byte, error) {
	b, err := ReadSecretFile(path)
	if err == nil && len(b) < MinKeyLen {
		err = fmt.Errorf("patkit: key file %s holds %d bytes, need at least %d", path, len(b), MinKeyLen)
	}
	return b, err
}

// WriteSecretFile creates the file at path holding data, with mode 0600,
// whole or not at all: it writes a temporary file beside it, syncs it and
// links it into place. It fails with an error wrapping fs.ErrExist if path
// exists, whatever it is (a link is never followed).
func WriteSecretFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".patkit-*") // mode 0600
	if err != nil {
		return fmt.Errorf("patkit: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("patkit: write %s: %w", path, err)
	}
	return nil
}

// ReadSecretFile reads a file holding a secret, refusing, with nothing
// read, a symbolic link, anything but a regular file, and a file that
// others than its owner may read or write (mode & 0o077 != 0): whoever
// reads a key or a token can use it; whoever writes one can swap it. A
// missing file is an error wrapping fs.ErrNotExist.
func ReadSecretFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("patkit: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("patkit: %s is a symbolic link; refusing it", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("patkit: %s is not a regular file", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("patkit: %s has mode %#o; it must be accessible to its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("patkit: %w", err)
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("patkit: %s changed while it was read", path)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("patkit: %w", err)
	}
	return b, nil
}
