// Package connlog writes the connection log: one JSON object per line per
// connection, written when the connection closes, with Zeek conn.log field
// names where the meaning is Zeek's. FIELDS.md documents every field.
//
// # Use
//
//	log, err := connlog.Create(path, connlog.Options{Digest: true}) // "-" is stdout
//	h := log.Handler() // one per worker; h is a reassembly.Handler
//	... workers feed their Tables, Flush them, and stop ...
//	err = log.Close() // flush every Handler, wait for the writer, first error
//
// # Threading
//
// A Handler belongs to one worker goroutine and takes no locks: it formats
// each line into a per-worker buffer (64 KiB by default). Full buffers go
// to one writer goroutine per Log through a bounded queue (16 buffers by
// default). A worker waits only when that queue is full, that is when the
// writer is more than a megabyte behind (the output is slower than the
// traffic): the log is never dropped and memory never grows without bound.
// Such waits are counted in Stats().Stalls.
//
// A line waits in its worker's buffer until the buffer fills, until
// Options.FlushInterval (wall clock) has passed when the next connection of
// that worker closes, or until the worker calls Handler.Flush (a worker
// should do so when it goes idle, so that a quiet live capture still logs
// promptly).
//
// # Order
//
// Lines are written in the order the connections close within one worker;
// buffers of different workers interleave in the order they are handed
// over, so the order of the whole log is not deterministic when there are
// several workers (one worker replaying a file gives a deterministic log).
// Sort the lines for comparison: SortLines, Sort on Read's records, or
// `sort` in the shell (lines begin with {"ts":<start>,"uid":...}).
//
// The writer writes whole buffers, so a line is never split between two
// writes, and lines of different workers never mix.
package connlog

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/internal/connstate"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Options tune a Log. The zero value is the default for every field.
type Options struct {
	// Digest adds orig_sha256 and resp_sha256: the SHA-256 of the bytes
	// delivered in each direction (gaps excluded). It costs hashing every
	// delivered byte on the worker.
	Digest bool
	// CommunityID adds community_id when on: the flow's Community ID
	// (version 1, under its seed), the string Suricata, Zeek and Wireshark
	// give it (package communityid).
	CommunityID communityid.Field
	// LocalNets, if not empty, adds local_orig and local_resp: whether the
	// client's and the server's address is in one of these prefixes
	// (Zeek's Site::local_nets). An IPv4 address mapped into IPv6 counts
	// as the IPv4 address.
	LocalNets []netip.Prefix
	// BufferSize is the size of a worker's buffer, default 64 KiB.
	BufferSize int
	// QueueLen is how many full buffers may wait for the writer before
	// workers wait, default 16.
	QueueLen int
	// FlushInterval: when a connection closes and the worker's buffer has
	// held lines for longer than this (wall clock), the buffer is handed
	// to the writer even if not full. Default 1s; negative disables it.
	FlushInterval time.Duration
	// Tunnels names a connection's tunnel (reassembly.Key.Tunnel, set when
	// the decoder keys flows by tunnel) in the tunnel field; nil writes
	// the tunnel's hash in hex. decode.TunnelNames is one.
	Tunnels TunnelNamer
	// Capture, if set, stamps each line with the capture time the
	// connection closed (logfile.Capture), and a buffer holds lines of
	// one rotation span only: the writer tells the destination each
	// buffer's stamp when it has a SetStamp(int64) method (logfile.File,
	// sink.Tee), so that rotation follows the capture. The worker's clock
	// comes from Handler.UseClock.
	Capture *logfile.Capture
}

// stamper is a destination that files lines by the capture time they
// were logged at (logfile.File).
type stamper interface{ SetStamp(ns int64) }

// reacher is a destination told how far each worker's clock has got
// (logfile.File.Reached).
type reacher interface {
	Reached(worker, workers int, ns int64)
}

// TunnelNamer appends the text naming a tunnel id.
type TunnelNamer interface {
	AppendName(b []byte, id uint32) []byte
}

// Log is one connection log output: a writer goroutine and the Handlers
// that feed it.
type Log struct {
	opt  Options
	pipe *pipe.Pipe
	hs   pipe.Handlers[*Handler]
	nh   atomic.Int32 // Handlers made (read by the writer: not under hs's lock)
}

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

// New returns a Log writing to w, which is written from a single goroutine
// in large chunks (no need for a bufio.Writer) and is not closed by Close.
func New(w io.Writer, opt Options) *Log { return newLog(w, nil, opt) }

// NewCloser is New for a writer that Close closes after the last write.
func NewCloser(w io.WriteCloser, opt Options) *Log { return newLog(w, w, opt) }

func newLog(w io.Writer, c io.Closer, opt Options) *Log {
	if opt.FlushInterval == 0 {
		opt.FlushInterval = time.Second
	}
	l := &Log{opt: opt}
	st, _ := w.(stamper)
	if opt.Capture == nil {
		st = nil
	}
	consume := func(b []byte, stamp int64) error {
		if st != nil {
			st.SetStamp(stamp)
		}
		n, err := w.Write(b)
		if err == nil && n != len(b) {
			err = io.ErrShortWrite
		}
		return err
	}
	var finish func(error) error
	if c != nil {
		finish = func(error) error { return c.Close() }
	}
	cfg := pipe.Config{Size: opt.BufferSize, Queue: opt.QueueLen}
	if r, ok := w.(reacher); ok && opt.Capture != nil {
		cfg.Mark = func(from int, ns int64) { r.Reached(from, int(l.nh.Load()), ns) }
	}
	l.pipe = pipe.NewStamped(cfg, consume, finish)
	return l
}

// ErrClosed is the panic value when a Handler is created after Close.
var ErrClosed = errors.New("connlog: log closed")

// Handler returns a new Handler for one worker. Create one per worker
// goroutine before starting it; the Handler must not be shared.
func (l *Log) Handler() *Handler {
	return l.hs.Add(ErrClosed, func(n int) *Handler {
		l.nh.Add(1)
		h := &Handler{log: l, n: n, buf: l.pipe.Get(), digest: l.opt.Digest, every: l.opt.FlushInterval}
		h.batch.Capture = l.opt.Capture
		h.rec.digest = l.opt.Digest
		h.rec.cid = l.opt.CommunityID
		h.rec.local = l.opt.LocalNets
		h.rec.names = l.opt.Tunnels
		h.rec.sum[0] = h.sums[0][:0]
		h.rec.sum[1] = h.sums[1][:0]
		return h
	})
}

// Close writes what every Handler has buffered, waits for the writer to
// finish, closes the destination when the Log owns it, and returns the
// first write (or close) error. Call it after every worker has stopped
// using its Handler (and after the Tables were flushed, so that every
// connection was logged): Close reads the Handlers' buffers. Later calls
// return the same error.
func (l *Log) Close() error {
	return l.hs.Close(l.pipe, func(h *Handler) { h.put() })
}

// Stats are a Log's counters.
type Stats = pipe.Stats

// Stats returns the writer's counters (safe from any goroutine).
func (l *Log) Stats() Stats { return l.pipe.Stats() }

// Handler logs the connections of one worker. It implements
// reassembly.Handler; it keeps its per-connection state (only with
// Options.Digest) in Conn.Ctx.
type Handler struct {
	log    *Log
	n      int // the Handler's number, from 0
	buf    []byte
	since  time.Time // when the first line of buf was written
	every  time.Duration
	digest bool
	free   connstate.Free[digests]
	rec    record
	sums   [2][sha256.Size]byte
	lines  uint64
	batch  logfile.Batch // the stamps of buf's lines (Options.Capture)
	// bypassed, if set, says whether the connection closing was bypassed
	// by the TLS log and how many bytes were not passed on (SetBypassed)
	bypassed func() (bool, uint64)
	// services name the protocols other handlers recognised (AddService)
	services []service
}

// service is a protocol name and how to ask whether the connection
// closing carried it.
type service struct {
	name    string
	closing func() bool
}

// SetBypassed makes the Handler ask f, at each close, whether the TLS log
// (package ssllog, which wraps this Handler) bypassed the connection: the
// line then says tls_bypassed and bypassed_bytes. Call it before the
// worker starts.
func (h *Handler) SetBypassed(f func() (bool, uint64)) { h.bypassed = f }

// AddService makes the Handler ask closing, at each close, whether the
// connection carried the protocol name (as the HTTP and TLS logs'
// handlers know): the line's service field lists, comma-separated in the
// order added, the names whose answer was yes (Zeek's conn.log service:
// "http", "ssl"). closing is asked during Closed, so the handler it asks
// must have seen the close already (come earlier in reassembly.Multi, or
// wrap this Handler). Call it before the worker starts.
func (h *Handler) AddService(name string, closing func() bool) {
	h.services = append(h.services, service{name, closing})
}

// UseClock gives the Handler its worker's capture clock (Unix ns; the
// Table's Now), which stamps lines with Options.Capture. Call it before
// the worker starts.
func (h *Handler) UseClock(now func() int64) { h.batch.Now = now }

// Advanced implements engine/worker.Ticker: after each batch of packets,
// with the worker's clock. With Options.Capture, when the clock enters a
// later rotation span the buffered lines go to the writer, and a mark
// saying no earlier line will come from this worker: the writer closes a
// span's file once every worker has passed it.
func (h *Handler) Advanced(now int64) {
	if h.batch.Advanced(now) {
		h.put()
		h.log.pipe.Mark(h.n, now)
	}
}

// put hands buf over with its lines' stamp.
func (h *Handler) put() { h.buf = h.log.pipe.PutAt(h.buf, h.batch.Stamp()) }

var _ reassembly.Handler = (*Handler)(nil)

// digests is the per-connection state with Options.Digest.
type digests struct{ h [2]hash.Hash }

// Opened implements reassembly.Handler.
func (h *Handler) Opened(c *reassembly.Conn) {
	if h.digest {
		c.Ctx = h.getDigests()
	}
}

func (h *Handler) getDigests() *digests { return h.free.Get(newDigests) }

func newDigests() *digests { return &digests{h: [2]hash.Hash{sha256.New(), sha256.New()}} }

func (h *Handler) ctx(c *reassembly.Conn) *digests { return connstate.Of(c, h.getDigests) }

// Sent implements reassembly.Handler.
func (h *Handler) Sent(c *reassembly.Conn, d reassembly.Data) {
	if h.digest && len(d.Bytes) > 0 {
		h.ctx(c).h[reassembly.FromClient].Write(d.Bytes)
	}
}

// Received implements reassembly.Handler.
func (h *Handler) Received(c *reassembly.Conn, d reassembly.Data) {
	if h.digest && len(d.Bytes) > 0 {
		h.ctx(c).h[reassembly.FromServer].Write(d.Bytes)
	}
}

// Closed implements reassembly.Handler: it formats the connection's line.
func (h *Handler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	h.rec.fill(c, r)
	h.rec.bypassed, h.rec.bypassedBytes = false, 0
	if h.bypassed != nil {
		h.rec.bypassed, h.rec.bypassedBytes = h.bypassed()
	}
	h.rec.service = h.rec.service[:0]
	for _, s := range h.services {
		if s.closing() {
			if len(h.rec.service) > 0 {
				h.rec.service = append(h.rec.service, ',')
			}
			h.rec.service = append(h.rec.service, s.name...)
		}
	}
	if h.digest {
		d := h.ctx(c)
		for i := range d.h {
			h.rec.sum[i] = d.h[i].Sum(h.sums[i][:0])
			d.h[i].Reset()
		}
		h.free.Release(c, d)
	}
	if h.batch.Capture != nil {
		if flush, stamp := h.batch.Line(h.batch.Capture.Closed(c, r, h.batch.Clock()), len(h.buf)); flush {
			h.buf = h.log.pipe.PutAt(h.buf, stamp) // lines of an earlier span
		}
	}
	wasEmpty := len(h.buf) == 0
	h.buf = appendRecord(h.buf, &h.rec, c.History())
	h.lines++
	switch {
	case len(h.buf) >= h.log.pipe.Size():
		h.put()
	case h.every < 0:
	case wasEmpty:
		h.since = time.Now()
	case time.Since(h.since) >= h.every:
		h.put()
	}
}

// Flush hands the lines buffered so far to the writer. Call it from the
// Handler's worker, e.g. when the worker goes idle.
func (h *Handler) Flush() {
	if len(h.buf) > 0 {
		h.put()
	}
}

// Lines returns how many lines this Handler has formatted (call it from
// the Handler's worker).
func (h *Handler) Lines() uint64 { return h.lines }
