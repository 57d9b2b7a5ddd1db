// Package flowfiles writes each direction of each connection to its own
// file, in the manner of tcpflow: the bytes the client sent go to
// <name>.c2s and the bytes the server sent to <name>.s2c, in a directory
// (see AppendName for the naming scheme).
//
// # Use
//
//	w, err := flowfiles.New(dir, flowfiles.Options{})
//	h := w.Handler() // one per worker; h is a reassembly.Handler
//	... workers feed their Tables, Flush them, and stop ...
//	err = w.Close() // write what is buffered, close every file, first error
//
// # Contents
//
// A file holds exactly the bytes delivered in its direction, each at its
// stream offset (Data.Offset): a gap (bytes never captured, Data.Gap) is
// left as a hole, so it reads as zero bytes and the file is sparse where
// the file system supports it; the file's length is the stream offset
// reached, trailing gap included. Like tcpflow, this keeps file offsets
// equal to stream offsets, so an offset reported by any other consumer of
// the stream (Data.Offset, a parser's error position) points straight into
// the file, and no sidecar is needed. The cost is that a hole cannot be
// told apart from real zero bytes in the file itself: the connection log
// has the count (missed_bytes, orig_bytes - orig_delivered), and a digest
// of the file differs from connlog's orig_sha256/resp_sha256 (which cover
// the delivered bytes only) exactly when there were gaps.
//
// A direction that delivers no byte gets no file, even when it had gaps or
// packets (a SYN, pure ACKs): a file is created with the first delivered
// byte. An existing file of the same name is truncated when created (the
// name includes the uid, so this only happens when the same capture is
// written to the same directory again).
//
// # Threading and memory
//
// A Handler belongs to one worker goroutine and takes no locks. It copies
// each delivered piece (the Data bytes are only borrowed for the call) into
// its worker's buffer (64 KiB by default), framed with the file it belongs
// to and its offset; full buffers go to a single writer goroutine through
// a bounded queue (16 buffers by default). That copy is the only per-byte
// cost on the worker. A worker waits only when the queue is full, i.e. the
// disk is more than a megabyte behind; such waits are counted in
// Stats().Stalls. Bytes are never dropped and memory stays bounded.
//
// The writer goroutine does all file I/O: it coalesces contiguous pieces of
// the same file into one positioned write, and keeps at most MaxOpen files
// open (default 256): opening one more closes the least recently written
// one, which is reopened (without truncation; writes are positioned) when
// its connection sends again. A file is closed for good when its
// connection closes.
//
// After the first I/O error the writer stops writing (it still drains the
// queue so that workers never wait forever, and still closes its files);
// Close returns that error.
package flowfiles

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fastsniff/fastsniff/outputs/internal/connstate"
	"github.com/fastsniff/fastsniff/outputs/internal/filecache"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Options tune a Writer. The zero value is the default for every field.
type Options struct {
	// MaxOpen bounds the files open at once, default 256.
	MaxOpen int
	// BufferSize is the size of a worker's buffer, default 64 KiB.
	BufferSize int
	// QueueLen is how many full buffers may wait for the writer before
	// workers wait, default 16.
	QueueLen int
	// FlushInterval: a worker's buffer that has held data longer than this
	// (wall clock, checked every few Data calls and on Opened/Closed) is
	// handed to the writer even if not full. Default 1s; negative disables
	// it. Handler.Flush does it on demand.
	FlushInterval time.Duration
	// FileMode is the permission of created files, default 0644 (before
	// umask). The directory is created 0755 if missing.
	FileMode os.FileMode
}

// Stats are a Writer's counters.
type Stats struct {
	pipe.Stats
	Files   uint64 // files created
	Reopens uint64 // files reopened after being closed to respect MaxOpen
	Written uint64 // payload bytes written to files
	Writes  uint64 // positioned writes issued
}

// Writer is one flow-file output: a directory, a writer goroutine and the
// Handlers that feed it.
type Writer struct {
	opt  Options
	pipe *pipe.Pipe
	fw   *fileWriter

	hs pipe.Handlers[*Handler]
}

// ErrClosed is the panic value when a Handler is created after Close.
var ErrClosed = errors.New("flowfiles: writer closed")

// New creates dir if needed and returns a Writer into it.
func New(dir string, opt Options) (*Writer, error) {
	if opt.MaxOpen <= 0 {
		opt.MaxOpen = 256
	}
	if opt.FlushInterval == 0 {
		opt.FlushInterval = time.Second
	}
	if opt.FileMode == 0 {
		opt.FileMode = 0o644
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fw := &fileWriter{
		dir:   dir,
		files: make(map[uint64]*filecache.File),
		cache: filecache.New(opt.MaxOpen, opt.FileMode),
	}
	w := &Writer{opt: opt, fw: fw}
	w.pipe = pipe.New(pipe.Config{Size: opt.BufferSize, Queue: opt.QueueLen}, fw.consume, fw.finish)
	return w, nil
}

// Handler returns a new Handler for one worker. Create one per worker
// goroutine before starting it; the Handler must not be shared.
func (w *Writer) Handler() *Handler {
	return w.hs.Add(ErrClosed, func(n int) *Handler {
		return &Handler{
			w:     w,
			buf:   w.pipe.Get(),
			size:  w.pipe.Size(),
			every: w.opt.FlushInterval,
			idHi:  uint64(n) << 40,
		}
	})
}

// Close hands over what every Handler has buffered, waits for the writer
// to write it, closes every file (files of connections that never closed
// included, extended to the offset reached) and returns the first I/O
// error. Call it after every worker has stopped using its Handler (and
// after the Tables were flushed, so that every connection was closed):
// Close reads the Handlers' buffers. Later calls return the same error.
func (w *Writer) Close() error {
	return w.hs.Close(w.pipe, func(h *Handler) {
		h.finishAll()
		h.buf = w.pipe.Put(h.buf)
	})
}

// Stats returns the counters (safe from any goroutine).
func (w *Writer) Stats() Stats {
	return Stats{
		Stats:   w.pipe.Stats(),
		Files:   w.fw.cache.Created(),
		Reopens: w.fw.cache.Reopens(),
		Written: w.fw.cache.Written(),
		Writes:  w.fw.cache.Writes(),
	}
}

// Record framing in the queue buffers (pipe.AppendHeader): a header, then
// n bytes.
//
//	op (1) | file id (8) | offset (8) | n (4) | n bytes
const hdrLen = pipe.HdrLen

const (
	opOpen = 1 + iota // payload: the file name; offset unused
	opData            // payload: bytes to write at offset
	opEnd             // no payload; offset: stream offset reached. Closes the file.
)

// minChunk: a piece is split across buffers rather than starting a new
// buffer when at least this much room is left.
const minChunk = 512

// Handler writes the streams of one worker's connections. It implements
// reassembly.Handler; its per-connection state lives in Conn.Ctx.
type Handler struct {
	w     *Writer
	buf   []byte
	size  int
	every time.Duration
	since time.Time // when buf became non-empty
	calls uint32

	idHi uint64 // handler index, high bits of file ids
	next uint64 // connection serial
	free connstate.Free[flow]
	live map[*flow]struct{} // only for Close of unclosed connections
}

var _ reassembly.Handler = (*Handler)(nil)

// flow is the per-connection state.
type flow struct {
	id     uint64 // file id of direction 0; direction 1 is id+1
	opened [2]bool
	end    [2]uint64 // stream offset reached
}

// Opened implements reassembly.Handler.
func (h *Handler) Opened(c *reassembly.Conn) {
	c.Ctx = h.newFlow()
	h.tick()
}

func (h *Handler) newFlow() *flow {
	f := h.free.Get(connstate.New[flow])
	*f = flow{}
	h.next++
	f.id = h.idHi | h.next<<1
	if h.live == nil {
		h.live = make(map[*flow]struct{})
	}
	h.live[f] = struct{}{}
	return f
}

func (h *Handler) ctx(c *reassembly.Conn) *flow { return connstate.Of(c, h.newFlow) }

// Sent implements reassembly.Handler.
func (h *Handler) Sent(c *reassembly.Conn, d reassembly.Data) {
	h.data(c, reassembly.FromClient, &d)
}

// Received implements reassembly.Handler.
func (h *Handler) Received(c *reassembly.Conn, d reassembly.Data) {
	h.data(c, reassembly.FromServer, &d)
}

func (h *Handler) data(c *reassembly.Conn, dir reassembly.Dir, d *reassembly.Data) {
	f := h.ctx(c)
	end := d.Offset + uint64(len(d.Bytes))
	if end > f.end[dir] {
		f.end[dir] = end
	}
	if len(d.Bytes) == 0 {
		return
	}
	id := f.id + uint64(dir)
	if !f.opened[dir] {
		f.opened[dir] = true
		h.reserve(hdrLen + 128)
		n := len(h.buf)
		h.buf = pipe.AppendHeader(h.buf, opOpen, id, 0, 0)
		h.buf = AppendName(h.buf, c.ID(), c.Client(), c.Server(), dir)
		pipe.SetLen(h.buf[n:], len(h.buf)-n-hdrLen)
	}
	off, p := d.Offset, d.Bytes
	for len(p) > 0 {
		room := h.size - len(h.buf) - hdrLen
		if room < minChunk && room < len(p) {
			h.put()
			room = h.size - hdrLen
		}
		k := min(room, len(p))
		h.buf = pipe.AppendHeader(h.buf, opData, id, off, k)
		h.buf = append(h.buf, p[:k]...)
		off += uint64(k)
		p = p[k:]
	}
	h.calls++
	if h.calls&63 == 0 {
		h.tick()
	}
}

// Closed implements reassembly.Handler.
func (h *Handler) Closed(c *reassembly.Conn, _ reassembly.Reason) {
	f := h.ctx(c)
	h.end(f)
	delete(h.live, f)
	h.free.Release(c, f)
	h.tick()
}

func (h *Handler) end(f *flow) {
	for dir := range f.opened {
		if f.opened[dir] {
			h.reserve(hdrLen)
			h.buf = pipe.AppendHeader(h.buf, opEnd, f.id+uint64(dir), f.end[dir], 0)
			f.opened[dir] = false
		}
	}
}

// finishAll ends the files of connections still open (at Writer.Close).
func (h *Handler) finishAll() {
	for f := range h.live {
		h.end(f)
	}
}

// Flush hands the data buffered so far to the writer. Call it from the
// Handler's worker, e.g. when the worker goes idle.
func (h *Handler) Flush() {
	if len(h.buf) > 0 {
		h.put()
	}
}

func (h *Handler) put() {
	h.buf = h.w.pipe.Put(h.buf)
	h.since = time.Time{}
}

// reserve makes room for n bytes, handing the buffer over if needed.
func (h *Handler) reserve(n int) {
	if len(h.buf)+n > h.size && len(h.buf) > 0 {
		h.put()
	}
}

// tick hands the buffer over when it has waited longer than the flush
// interval.
func (h *Handler) tick() {
	if h.every < 0 || len(h.buf) == 0 {
		return
	}
	now := time.Now()
	if h.since.IsZero() {
		h.since = now
		return
	}
	if now.Sub(h.since) >= h.every {
		h.put()
	}
}

// fileWriter runs on the writer goroutine only.
type fileWriter struct {
	dir   string
	files map[uint64]*filecache.File
	cache *filecache.Cache
}

var errFraming = errors.New("flowfiles: corrupt queue buffer")

func (w *fileWriter) consume(b []byte) error {
	for len(b) > 0 {
		op, id, off, p, rest, ok := pipe.NextRecord(b)
		if !ok {
			return errFraming
		}
		b = rest
		var err error
		switch op {
		case opOpen:
			w.files[id] = &filecache.File{Path: filepath.Join(w.dir, string(p))}
		case opData:
			err = w.write(id, int64(off), p)
		case opEnd:
			err = w.end(id, int64(off))
		default:
			return errFraming
		}
		if err != nil {
			return err
		}
	}
	return w.cache.Flush()
}

func (w *fileWriter) write(id uint64, off int64, p []byte) error {
	f := w.files[id]
	if f == nil {
		return errFraming
	}
	return w.cache.Write(f, off, p)
}

// end closes a file for good, extending it to the stream offset reached.
func (w *fileWriter) end(id uint64, reached int64) error {
	f := w.files[id]
	if f == nil {
		return errFraming
	}
	delete(w.files, id)
	if err := w.cache.Extend(f, reached); err != nil {
		return err
	}
	return w.cache.Close(f)
}

// finish runs after the last buffer: it closes every file still open,
// even after an error.
func (w *fileWriter) finish(err error) error {
	if err == nil {
		err = w.cache.Flush()
	}
	w.cache.Discard()
	for id, f := range w.files {
		delete(w.files, id)
		if e := w.cache.Close(f); err == nil {
			err = e
		}
	}
	return err
}
