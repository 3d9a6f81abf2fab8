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
	return b.writeLocked(p)
}

// writeLocked is Write with b.mu held.
func (b *logBuffer) writeLocked(p []byte) (int, error) {
	if b.w.Buffered() == 0 {
		b.timer.Reset(logFlushDelay)
	}
	return b.w.Write(p)
}

// writeText appends r to the lines waiting as appendText writes it, and
// reports false, having written nothing, if appendText cannot.
func (b *logBuffer) writeText(r slog.Record) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := appendText(b.w.AvailableBuffer(), r)
	if ok {
		b.writeLocked(p)
	}
	return ok
}

// Flush writes the lines waiting.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	return b.w.Flush()
}

// logHandler is a slog.TextHandler writing to a logBuffer. It writes a
// record of level WARN or above out of the buffer at once, with whatever
// waited before it. Until attributes or a group are added to it, it
// formats what appendText can itself, the request log's records, as the
// TextHandler would.
type logHandler struct {
	slog.Handler // the TextHandler
	buf          *logBuffer
	derived      bool // made by WithAttrs or WithGroup
}

func newLogHandler(buf *logBuffer, level slog.Level) logHandler {
	return logHandler{Handler: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level}), buf: buf}
}

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.derived || !h.buf.writeText(r) {
		err = h.Handler.Handle(ctx, r)
	}
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs), h.buf, true}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name), h.buf, true}
}
