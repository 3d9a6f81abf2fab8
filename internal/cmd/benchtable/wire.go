package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// wireConn is one keep-alive connection of a loader: it writes a request
// prepared once, byte for byte, and reads the answer's status and body
// off the wire, as wrk does, without allocating. A load generator that
// costs what net/http's client does (more than the bare handler itself)
// narrows every ratio to the bare handler, on two processors that it
// shares with the server.
type wireConn struct {
	addr string // host:port
	req  []byte // the request as written
	c    net.Conn
	r    *bufio.Reader
}

func newWireConn(r *http.Request) (*wireConn, error) {
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		return nil, err
	}
	return &wireConn{addr: r.URL.Host, req: b.Bytes()}, nil
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
// close are what it heeds) and the body, discarded.
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
	switch {
	case chunked:
		err = w.discardChunks()
	case length >= 0:
		_, err = w.r.Discard(int(length))
	default:
		return code, false, fmt.Errorf("response %d without a length", code)
	}
	return code, keep && err == nil, err
}

// discardChunks reads a chunked body and its trailer.
func (w *wireConn) discardChunks() error {
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
		if _, err := w.r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}
