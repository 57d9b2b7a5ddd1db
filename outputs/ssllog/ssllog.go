// Package ssllog writes the TLS log: one JSON object per line per TLS
// connection, with Zeek ssl.log field names where the meaning is Zeek's,
// plus the offered ALPN and versions, the server's leaf certificate names
// and dates, and the JA3, JA3S and JA4 fingerprints. FIELDS.md documents
// every field.
//
// The handshakes are read by package tlsinfo from the streams of a
// reassembly.Table. A line is written when the handshake is complete
// (tlsinfo's Complete: nothing later can change it), or at the close of a
// connection whose handshake never completed.
//
// # Use
//
//	log, err := ssllog.Create(path, ssllog.Options{}) // "-" is stdout
//	h := log.Handler(inner) // one per worker; inner may be nil
//	... workers feed their Tables, Flush them, and stop ...
//	err = log.Close()
//
// A Handler wraps the worker's other handlers (inner): it passes every
// call on, and with Options.Bypass it stops passing a connection's bytes
// on once its handshake is complete (tlsinfo's Complete): that is the
// offline bypass, and OnBypass lets a live capture cut the connection in
// the kernel too. The bytes not passed on are counted.
//
// # Threading
//
// As in packages connlog and httplog: a Handler belongs to one worker
// goroutine and takes no locks on the packet path. When it writes a line it copies
// the connection's tlsinfo.Info (a value), its leaf certificate and its
// uid and endpoints into a per-worker buffer; full buffers (or buffers
// older than FlushInterval) go to one writer goroutine through a bounded
// queue, which formats the JSON (names, certificate parsing) off the
// packet path. Lines are never dropped.
package ssllog

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/tlsinfo"
)

// Options tune a Log. The zero value is the default for every field.
type Options struct {
	// TLS bounds the parser of each worker (tlsinfo defaults when zero).
	TLS tlsinfo.Config
	// Bypass stops passing a connection's bytes to the inner handler
	// once its handshake is complete. Leave it off when an inner handler
	// needs every byte (stream files, digests).
	Bypass bool
	// BufferSize is the size of a worker's buffer, default 64 KiB.
	BufferSize int
	// QueueLen is how many full buffers may wait for the writer, default 16.
	QueueLen int
	// FlushInterval: a buffer holding lines longer than this (wall clock)
	// is handed to the writer at the next close. Default 1s; negative
	// disables it.
	FlushInterval time.Duration
	// Capture, if set, stamps each line with the capture time it was
	// logged at (logfile.Capture); a buffer holds lines of one rotation
	// span only, and the writer tells the destination their stamp when it
	// has a SetStamp(int64) method (logfile.File). The worker's clock
	// comes from Handler.UseClock.
	Capture *logfile.Capture
	// CommunityID adds community_id after the endpoints when on: the
	// connection's Community ID (package communityid), as in the conn log.
	CommunityID communityid.Field
}

// Stats are a Log's counters, as the workers last published them (every
// 32 closes, at Flush and at Close).
type Stats struct {
	// TLS sums the workers' parser counters.
	TLS tlsinfo.Stats
	// Logged is the number of lines.
	Logged uint64
	// Bypassed counts connections whose bytes stopped being passed on;
	// BypassedBytes the bytes not passed on (both directions).
	Bypassed, BypassedBytes uint64
	// Buffers, Bytes and Stalls are the queue's.
	Buffers, Bytes, Stalls uint64
}

// Log is one TLS log output: a writer goroutine and the Handlers that
// feed it.
type Log struct {
	opt  Options
	pipe *pipe.Pipe
	w    *writer
	hs   pipe.Handlers[*Handler]
	nh   atomic.Int32 // Handlers made (read by the writer: not under hs's lock)
}

// ErrClosed is the panic value when a Handler is created after Close.
var ErrClosed = errors.New("ssllog: log closed")

// Create opens path for writing (truncating it) and returns a Log on it;
// "-" is standard output, which Close leaves open.
func Create(path string, opt Options) (*Log, error) {
	if path == "-" {
		return New(os.Stdout, opt), nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return newLog(f, f, opt), nil
}

// New returns a Log writing to w, which Close does not close.
func New(w io.Writer, opt Options) *Log { return newLog(w, nil, opt) }

// NewCloser is New for a writer that Close closes after the last write
// (e.g. a rotated log file).
func NewCloser(w io.WriteCloser, opt Options) *Log { return newLog(w, w, opt) }

func newLog(out io.Writer, c io.Closer, opt Options) *Log {
	if opt.FlushInterval == 0 {
		opt.FlushInterval = time.Second
	}
	w := &writer{out: out, closer: c}
	if st, ok := out.(interface{ SetStamp(int64) }); ok && opt.Capture != nil {
		w.stamper = st
	}
	l := &Log{opt: opt, w: w}
	cfg := pipe.Config{Size: opt.BufferSize, Queue: opt.QueueLen}
	if r, ok := out.(interface{ Reached(int, int, int64) }); ok && opt.Capture != nil {
		cfg.Mark = func(from int, ns int64) { r.Reached(from, int(l.nh.Load()), ns) }
	}
	l.pipe = pipe.NewStamped(cfg, w.consume, w.finish)
	return l
}

// Close writes what every Handler has buffered, waits for the writer and
// closes the destination when the Log owns it; it returns the first error.
// Call it after the workers flushed their Tables and stopped.
func (l *Log) Close() error {
	return l.hs.Close(l.pipe, func(h *Handler) {
		h.publish()
		h.put()
	})
}

// Stats returns the counters; safe from any goroutine.
func (l *Log) Stats() Stats {
	var s Stats
	for _, h := range l.hs.All() {
		h.mu.Lock()
		s.TLS.Add(&h.pub.tls)
		s.Logged += h.pub.logged
		s.Bypassed += h.pub.bypassed
		s.BypassedBytes += h.pub.bypassedBytes
		h.mu.Unlock()
	}
	ps := l.pipe.Stats()
	s.Buffers, s.Bytes, s.Stalls = ps.Buffers, ps.Bytes, ps.Stalls
	return s
}
