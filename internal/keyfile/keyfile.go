// Package keyfile loads the instance key of a patkit database from its key
// file, with the keys it replaced, and rotates it. The example server and
// the admin CLI (cmd/patkit) share it, so that both read the same files the
// same way.
//
// The key file holds the current key as raw bytes (patkit.LoadOrCreateKey
// writes it). Rotating the key keeps the keys it replaced in a second
// file beside it, PreviousPath(path) (the key file's name + ".previous"),
// one hex-encoded key per line, newest first, mode 0600 as the key file:
// token digests are HMACs of the secrets, so a token created under an old
// key is found only through that key until its next use re-digests it
// under the current one (patkit.Options.PreviousKeys).
package keyfile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/patkit/patkit"
)

// PreviousPath returns the path of the file holding the keys that the key
// in the key file at path replaced.
func PreviousPath(path string) string { return path + ".previous" }

// Read returns the key in the key file at path, which must exist, and the
// previous keys kept beside it (none if PreviousPath(path) does not
// exist). Both files are read with patkit.ReadSecretFile: a link, or a
// file others may read or write, is refused.
func Read(path string) (key []byte, previous [][]byte, err error) {
	key, err = patkit.ReadSecretFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(key) < patkit.MinKeyLen {
		return nil, nil, fmt.Errorf("key file %s holds %d bytes, need at least %d", path, len(key), patkit.MinKeyLen)
	}
	previous, err = readPrevious(path)
	return key, previous, err
}

func readPrevious(path string) ([][]byte, error) {
	b, err := patkit.ReadSecretFile(PreviousPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, err := hex.DecodeString(line)
		if err != nil || len(k) < patkit.MinKeyLen {
			return nil, fmt.Errorf("%s: line %d is not a hex-encoded key of at least %d bytes", PreviousPath(path), i+1, patkit.MinKeyLen)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Load returns the key in the key file at path and the previous keys
// kept beside it, creating the key file on first start (see
// patkit.LoadOrCreateKey) unless store already holds tokens: tokens
// digested under a lost key could never authenticate again, so a missing
// key file over a database with tokens is an error. An empty path (an
// in-memory database) gives a key that lives as long as the process.
func Load(ctx context.Context, path string, store patkit.Store) (key []byte, previous [][]byte, err error) {
	if path == "" {
		key := make([]byte, patkit.MinKeyLen)
		_, err := rand.Read(key)
		return key, nil, err
	}
	key, created, err := patkit.LoadOrCreateKey(path)
	if err != nil {
		return nil, nil, err
	}
	if !created {
		previous, err = readPrevious(path)
		return key, previous, err
	}
	q := &patkit.Query{}
	q.Normalize()
	toks, _, err := store.List(ctx, q)
	if err == nil && len(toks) > 0 {
		err = fmt.Errorf("instance key %s is missing but the database holds tokens: restore the key or use a new database", path)
	}
	if err != nil {
		os.Remove(path)
		return nil, nil, err
	}
	return key, nil, nil
}

// Rotate replaces the key in the key file at path by a new random one and
// adds the old key first in PreviousPath(path). It returns the new key
// and every previous key, newest first. The previous-keys file is
// written before the key file, each whole (a new file renamed over the
// old): if Rotate stops between the two, the old key is both current and
// previous, which is harmless.
func Rotate(path string) (key []byte, previous [][]byte, err error) {
	old, previous, err := Read(path)
	if err != nil {
		return nil, nil, err
	}
	key = make([]byte, patkit.MinKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	previous = append([][]byte{old}, previous...)
	var b bytes.Buffer
	for _, k := range previous {
		b.WriteString(hex.EncodeToString(k))
		b.WriteByte('\n')
	}
	if err := replace(PreviousPath(path), b.Bytes()); err != nil {
		return nil, nil, err
	}
	if err := replace(path, key); err != nil {
		return nil, nil, err
	}
	return key, previous, nil
}

// replace writes data to path whole, with mode 0600, replacing what is
// there (a link is replaced, not followed).
func replace(path string, data []byte) error {
	tmp := path + ".new"
	os.Remove(tmp) // left by an interrupted Rotate
	if err := patkit.WriteSecretFile(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	// The rename is durable once the directory is.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
