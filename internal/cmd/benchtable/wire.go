package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
)

// wireConn is one keep-alive connection of a loader: it writes a request
// prepared once (or again by set), byte for byte, and reads the answer's
// status and body off the wire, as wrk does, without allocating. A load
// generator that costs what net/http's client does (more than the bare
// handler itself) narrows every ratio to the bare handler, on two
// processors that it shares with the server.
type wireConn struct {
	addr string // host:port
	req  []byte // the request as written
	c    net.Conn
	r    *bufio.Reader
	// keepBody makes do keep the answer's body in body, until the next
	// call, instead of discarding it.
	keepBody bool
	body     []byte
}

func newWireConn(r *http.Request) (*wireConn, error) {
	w := &wireConn{addr: r.URL.Host}
	return w, w.set(r)
}

// set makes r, to the same host, the request do sends.
func (w *wireConn) set(r *http.Request) error {
	if r.URL.Host != w.addr {
		return fmt.Errorf("request to %s on a connection to %s", r.URL.Host, w.addr)
	}
	b := bytes.NewBuffer(w.req[:0])
	if err := r.Write(b); err != nil {
		return err
	}
	w.req = b.Bytes()
	return nil
}

// do sends the request and returns the answer's status, once its body has
// been read. After an error the connection is closed; the next do dials
// again.
func (w *wireConn) do() (int, error) {
	if w.c == nil {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			return 0, err
		}
		w.c = c
		if w.r == nil {
			w.r = bufio.NewReaderSize(c, 16<<10)
		} else {
			w.r.Reset(c)
		}
	}
	code, keep, err := w.roundTrip()
	if err != nil || !keep {
		w.close()
	}
	return code, err
}

func (w *wireConn) close() {
	if w.c != nil {
		w.c.Close()
		w.c = nil
	}
}

var (
	errWire          = errors.New("malformed response")
	headerLength     = []byte("content-length")
	headerEncoding   = []byte("transfer-encoding")
	headerConnection = []byte("connection")
)

// roundTrip writes the request and reads one response: the status line,
// the headers (Content-Length, chunked Transfer-Encoding and Connection:
// close are what it heeds) and the body, discarded or kept.
func (w *wireConn) roundTrip() (code int, keep bool, err error) {
	if _, err := w.c.Write(w.req); err != nil {
		return 0, false, err
	}
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < len("HTTP/1.1 200") || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, errWire
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false, errWire
		}
		code = code*10 + int(c-'0')
	}
	length, chunked, keep := int64(-1), false, true
	for {
		line, err := w.r.ReadSlice('\n')
		if err != nil {
			return code, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return code, false, errWire
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, headerLength):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return code, false, errWire
			}
		case bytes.EqualFold(name, headerEncoding):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, headerConnection):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	w.body = w.body[:0]
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified || code < 200:
		// No body, whatever the headers say (RFC 9112, section 6.3).
	case chunked:
		err = w.readChunks()
	case length >= 0:
		err = w.read(int(length))
	default:
		return code, false, fmt.Errorf("response %d without a length", code)
	}
	return code, keep && err == nil, err
}

// read reads n bytes of the body, keeping them if w.keepBody.
func (w *wireConn) read(n int) error {
	if !w.keepBody {
		_, err := w.r.Discard(n)
		return err
	}
	w.body = slices.Grow(w.body, n)
	m := len(w.body)
	w.body = w.body[:m+n]
	_, err := io.ReadFull(w.r, w.body[m:])
	return err
}

// readChunks reads a chunked body and its trailer.
func (w *wireConn) readChunks() error {
	for {
		line, err := w.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return errWire
		}
		if n == 0 {
			for {
				line, err := w.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := w.read(int(n)); err != nil {
			return err
		}
		if _, err := w.r.Discard(2); err != nil { // CRLF
			return err
		}
	}
}
