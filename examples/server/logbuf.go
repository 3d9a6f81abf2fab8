package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushDelay is how long a line of the log may wait in its buffer.
const logFlushDelay = 100 * time.Millisecond

// logBuffer holds the log's lines for up to logFlushDelay, so that a busy
// server writes them a buffer at a time rather than with a system call
// for each of its one-line-per-request records, which cost more than
// formatting the record. Records of WARN and above are written at once
// (see logHandler), and Flush writes what is left.
type logBuffer struct {
	mu    sync.Mutex
	w     *bufio.Writer
	timer *time.Timer // armed while lines wait
}

func newLogBuffer(w io.Writer) *logBuffer {
	b := &logBuffer{w: bufio.NewWriterSize(w, 64<<10)}
	b.timer = time.AfterFunc(time.Hour, func() { b.Flush() })
	b.timer.Stop()
	return b
}

// Write buffers p, one record, and arms the flush if p is the first to
// wait.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.w.Buffered() == 0 {
		b.timer.Reset(logFlushDelay)
	}
	return b.w.Write(p)
}

// Flush writes the lines waiting.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	return b.w.Flush()
}

// logHandler writes a record of level WARN or above out of its logBuffer
// at once, with whatever waited before it.
type logHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs), h.buf}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name), h.buf}
}
