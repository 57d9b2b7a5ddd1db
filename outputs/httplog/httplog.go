// Package httplog writes the HTTP log: one JSON object per line per HTTP
// transaction, with Zeek http.log field names where the meaning is Zeek's,
// and optionally each message body to a file of its own. FIELDS.md
// documents every field and the body file names.
//
// The transactions come from package http1, fed by the streams of a
// reassembly.Table: a line is written when the transaction's Response
// callback comes, that is when the response is complete, or when the
// connection closes (a request without response, a response cut short).
//
// # Use
//
//	log, err := httplog.Create(path, httplog.Options{BodiesDir: dir}) // "-" is stdout
//	h := log.Handler() // one per worker; h is a reassembly.Handler
//	... workers feed their Tables, Flush them, and stop ...
//	err = log.Close() // flush every Handler, wait for the writer, first error
//
// # Threading
//
// As in package connlog: a Handler belongs to one worker goroutine and
// takes no locks on the packet path. When a transaction completes it
// copies the line's fields (a compact binary record: numbers, and the
// method, URI and header values as raw bytes) into a per-worker buffer;
// full buffers (or buffers older than FlushInterval) go to one writer
// goroutine per Log through a bounded queue, and a worker waits only when
// that queue is full (counted in Stats().Stalls). The writer formats the
// JSON lines (escaping, numbers), so that this cost stays off the packet
// path. Lines are never dropped. Within one worker lines are in the order
// the transactions complete; lines of several workers interleave by
// buffer. Each worker publishes its counters for Log.Stats under its own
// lock every 32 transactions or connection closes (and at Flush).
//
// # Bodies
//
// With Options.BodiesDir every body byte the parser decodes (chunk framing
// removed) is copied into the same per-worker buffer, framed with its
// file and offset, and written by the writer goroutine: a body is
// streamed, never held whole, and the worker does no file I/O. A body
// file holds the body at its offsets: bytes lost in capture gaps are holes
// (zero bytes), as in package flowfiles. At most Options.BodyMax bytes of
// a body are written; the rest is counted and flagged (truncated). File
// names are made of the uid, the transaction's depth and the direction,
// plus an extension chosen from a fixed list by the Content-Type (and the
// Content-Encoding): nothing from the traffic reaches a name.
//
// With Options.Decompress, a body sent with Content-Encoding gzip or
// deflate is inflated by the writer goroutine once the body is complete
// (from its raw file, streamed, at most BodyMax bytes of output), and the
// decoded file replaces the raw one. A body that cannot be decoded (a gap,
// a truncated or corrupt stream) is kept raw and the error is logged.
//
// Body facts (file name, truncation, decoding) are added to a line by the
// writer goroutine, which sees the end of a transaction's bodies before
// its line.
package httplog

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/logfile"
)

// DefaultBodyMax is the default Options.BodyMax: 10 MiB.
const DefaultBodyMax = 10 << 20

// DefaultBufferSize is the default Options.BufferSize: 256 KiB.
const DefaultBufferSize = 256 << 10

// Options tune a Log. The zero value is the default for every field.
type Options struct {
	// HTTP bounds the parser of each worker (http1 defaults when zero).
	HTTP http1.Config
	// BodiesDir, if set, is the directory body files are written to
	// (created 0755 if missing).
	BodiesDir string
	// BodyMax is the most bytes written per body file (raw or decoded),
	// default DefaultBodyMax. Bytes past it are not written: the line
	// says *_body_truncated.
	BodyMax int64
	// Decompress inflates gzip and deflate bodies (see the package doc).
	Decompress bool
	// MaxOpen bounds the body files open at once, default 64; more are
	// closed and reopened as needed.
	MaxOpen int
	// BufferSize is the size of a worker's buffer, default 256 KiB (a
	// hand-over wakes the writer: larger buffers mean fewer wake-ups on
	// the worker, body bytes included).
	BufferSize int
	// QueueLen is how many full buffers may wait for the writer before
	// workers wait, default 16.
	QueueLen int
	// FlushInterval: when a transaction completes and the worker's buffer
	// has held data longer than this (wall clock), the buffer is handed to
	// the writer even if not full. Default 1s; negative disables it.
	FlushInterval time.Duration
	// Capture, if set, stamps each transaction's line with the capture
	// time it was logged at (logfile.Capture); a buffer holds lines of one
	// rotation span only, and the writer tells the destination their
	// stamp when it has a SetStamp(int64) method (logfile.File,
	// sink.Tee). The worker's clock comes from Handler.UseClock.
	Capture *logfile.Capture
	// CommunityID adds community_id after the endpoints when on: the
	// connection's Community ID (package communityid), as in the conn log.
	CommunityID communityid.Field
}

// Stats are a Log's counters. The parser counters, Logged and BodyFiles
// are as each worker last published them: every 32 transactions or
// connection closes, at Handler.Flush and at Close (so they are exact
// after Close); the others are the writer's, current.
type Stats struct {
	// HTTP sums the workers' parser counters.
	HTTP http1.Stats
	// Logged is the number of lines (transactions) formatted.
	Logged uint64
	// BodyFiles is the number of body files started, BodyTruncated of
	// which reached Options.BodyMax (raw or decoded).
	BodyFiles, BodyTruncated uint64
	// BodyBytes is the number of bytes written to body files (holes not
	// counted; decoded bytes for decoded bodies, raw bytes otherwise).
	BodyBytes uint64
	// Decoded and DecodeErrors count bodies inflated or left raw because
	// decoding failed.
	Decoded, DecodeErrors uint64
	// Buffers, Bytes and Stalls are the queue's: buffers and bytes handed
	// to the writer, times a worker waited for it.
	Buffers, Bytes, Stalls uint64
}

// Log is one HTTP log output: a writer goroutine and the Handlers that
// feed it.
type Log struct {
	opt  Options
	pipe *pipe.Pipe
	w    *writer

	hs pipe.Handlers[*Handler]
	nh atomic.Int32 // Handlers made (read by the writer: not under hs's lock)
}

// ErrClosed is the panic value when a Handler is created after Close.
var ErrClosed = errors.New("httplog: log closed")

// Create opens path for writing (truncating it) and returns a Log on it;
// "-" is standard output, which Close leaves open.
func Create(path string, opt Options) (*Log, error) {
	if path == "-" {
		return New(os.Stdout, opt)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	l, err := newLog(f, f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// New returns a Log writing to w (from a single goroutine, in large
// writes), which Close does not close. w may be io.Discard when only the
// bodies are wanted.
func New(w io.Writer, opt Options) (*Log, error) { return newLog(w, nil, opt) }

// NewCloser is New for a writer that Close closes after the last write
// (e.g. a rotated log file).
func NewCloser(w io.WriteCloser, opt Options) (*Log, error) { return newLog(w, w, opt) }

func newLog(out io.Writer, c io.Closer, opt Options) (*Log, error) {
	if opt.FlushInterval == 0 {
		opt.FlushInterval = time.Second
	}
	if opt.BodyMax <= 0 {
		opt.BodyMax = DefaultBodyMax
	}
	if opt.BufferSize <= 0 {
		opt.BufferSize = DefaultBufferSize
	}
	if opt.MaxOpen <= 0 {
		opt.MaxOpen = 64
	}
	if opt.BodiesDir != "" {
		if err := os.MkdirAll(opt.BodiesDir, 0o755); err != nil {
			return nil, err
		}
	}
	w := newWriter(out, c, &opt)
	l := &Log{opt: opt, w: w}
	cfg := pipe.Config{Size: opt.BufferSize, Queue: opt.QueueLen}
	if r, ok := out.(interface{ Reached(int, int, int64) }); ok && opt.Capture != nil {
		cfg.Mark = func(from int, ns int64) { r.Reached(from, int(l.nh.Load()), ns) }
	}
	l.pipe = pipe.NewStamped(cfg, w.consume, w.finish)
	return l, nil
}

// Handler returns a new Handler for one worker. Create one per worker
// goroutine before starting it; the Handler must not be shared.
func (l *Log) Handler() *Handler {
	return l.hs.Add(ErrClosed, func(n int) *Handler {
		l.nh.Add(1)
		h := newHandler(l, uint64(n+1))
		h.n = n
		return h
	})
}

// Close writes what every Handler has buffered, waits for the writer to
// finish (body files included), closes the destination when the Log owns
// it, and returns the first error: writing the log, writing a body file,
// or closing. Call it after every worker has stopped using its Handler
// and after the Tables were flushed (so that every transaction was
// logged). Later calls return the same error.
func (l *Log) Close() error {
	return l.hs.Close(l.pipe, func(h *Handler) {
		h.publish()
		h.put()
	})
}

// Stats returns the counters; safe from any goroutine, at any time.
func (l *Log) Stats() Stats {
	var s Stats
	for _, h := range l.hs.All() {
		h.mu.Lock()
		s.HTTP.Add(&h.pub.http)
		s.Logged += h.pub.logged
		s.BodyFiles += h.pub.files
		h.mu.Unlock()
	}
	s.BodyTruncated = l.w.truncated.Load()
	s.BodyBytes = l.w.bodyBytes()
	s.Decoded = l.w.decoded.Load()
	s.DecodeErrors = l.w.decodeErrs.Load()
	ps := l.pipe.Stats()
	s.Buffers, s.Bytes, s.Stalls = ps.Buffers, ps.Bytes, ps.Stalls
	return s
}

// counter is an atomic counter of the writer goroutine.
type counter = atomic.Uint64
