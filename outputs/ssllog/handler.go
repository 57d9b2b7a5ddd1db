package ssllog

import (
	"sync"
	"time"
	"unsafe"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/connstate"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/fastsniff/fastsniff/tlsinfo"
)

// Handler reads the TLS handshakes of one worker's connections and logs
// them; it wraps the worker's other handlers (see the package doc). It
// implements reassembly.Handler.
type Handler struct {
	log    *Log
	inner  reassembly.Handler
	p      *tlsinfo.Parser
	bypass bool
	// OnBypass, if set, is called once per connection when its bytes stop
	// being passed on (from the worker, inside Sent or Received).
	OnBypass func(c *reassembly.Conn)

	buf   []byte
	size  int
	every time.Duration
	since time.Time

	free          connstate.Free[conn]
	freeTLS       []*tlsinfo.Conn // parser states not in use
	logged        uint64
	bypassed      uint64
	bypassedBytes uint64
	events        uint32
	closing       *conn         // the connection whose Closed is running
	batch         logfile.Batch // the stamps of buf's lines (Options.Capture)
	n             int           // the Handler's number, from 0

	mu  sync.Mutex // guards pub
	pub published
}

type published struct {
	tls                             tlsinfo.Stats
	logged, bypassed, bypassedBytes uint64
}

var _ reassembly.Handler = (*Handler)(nil)

// conn is the per-connection state: the inner handler's Conn.Ctx, the
// bypass, and the parser's state while the handshake is being read (about
// 1.5 KiB, given back once the line is written or the connection is found
// not to be TLS, so that a long connection keeps only this small part).
type conn struct {
	tls      *tlsinfo.Conn
	inner    any
	bypassed bool
	logged   bool // the line was written (at the handshake's end)
	skipped  uint64
}

// Handler returns a new Handler for one worker wrapping inner (nil: none).
// Create one per worker before starting it; it must not be shared.
func (l *Log) Handler(inner reassembly.Handler) *Handler {
	return l.hs.Add(ErrClosed, func(n int) *Handler {
		l.nh.Add(1)
		if inner == nil {
			inner = reassembly.Funcs{}
		}
		return &Handler{
			log:    l,
			inner:  inner,
			p:      tlsinfo.NewParser(l.opt.TLS),
			bypass: l.opt.Bypass,
			buf:    l.pipe.Get(),
			size:   l.pipe.Size(),
			every:  l.opt.FlushInterval,
			batch:  logfile.Batch{Capture: l.opt.Capture},
			n:      n,
		}
	})
}

func (h *Handler) newConn() *conn {
	cs := h.free.Get(connstate.New[conn])
	if n := len(h.freeTLS); n > 0 {
		cs.tls = h.freeTLS[n-1]
		h.freeTLS[n-1] = nil
		h.freeTLS = h.freeTLS[:n-1]
	} else {
		cs.tls = new(tlsinfo.Conn)
	}
	return cs
}

// dropTLS gives the parser's state of cs back.
func (h *Handler) dropTLS(cs *conn) {
	if cs.tls != nil {
		h.p.Reset(cs.tls)
		h.freeTLS = append(h.freeTLS, cs.tls)
		cs.tls = nil
	}
}

// Opened implements reassembly.Handler.
func (h *Handler) Opened(c *reassembly.Conn) {
	cs := h.newConn()
	c.Ctx = nil
	h.inner.Opened(c)
	cs.inner = c.Ctx
	c.Ctx = cs
}

func (h *Handler) ctx(c *reassembly.Conn) *conn { return connstate.Of(c, h.newConn) }

// Sent implements reassembly.Handler: client bytes.
func (h *Handler) Sent(c *reassembly.Conn, d reassembly.Data) { h.data(c, reassembly.FromClient, d) }

// Received implements reassembly.Handler: server bytes.
func (h *Handler) Received(c *reassembly.Conn, d reassembly.Data) {
	h.data(c, reassembly.FromServer, d)
}

func (h *Handler) data(c *reassembly.Conn, dir reassembly.Dir, d reassembly.Data) {
	cs := h.ctx(c)
	if cs.bypassed {
		cs.skipped += uint64(len(d.Bytes))
		return
	}
	if t := cs.tls; t != nil && t.Active() {
		h.p.Feed(t, tlsinfo.Dir(dir), d.Bytes, d.Gap, d.TS)
		switch {
		case !t.Active() && !t.IsTLS():
			h.dropTLS(cs) // not TLS
		case t.Info.Complete():
			if h.bypass {
				// these bytes still go on (they end the handshake),
				// later ones are skipped
				cs.bypassed = true
				h.bypassed++
				c.Bypass() // the Table keeps no more of it (reassembly.Conn.Bypass)
				if h.OnBypass != nil {
					h.OnBypass(c)
				}
			}
			// nothing more can change the line: write it now, as Zeek
			// does at the handshake's end, not at a close that may be
			// hours away
			h.line(c, cs, h.delivered(c, d.TS))
			cs.logged = true
			h.dropTLS(cs)
		}
	}
	c.Ctx = cs.inner
	if dir == reassembly.FromClient {
		h.inner.Sent(c, d)
	} else {
		h.inner.Received(c, d)
	}
	cs.inner = c.Ctx
	c.Ctx = cs
}

// SetBypass sets OnBypass (engine/live's BypassRequester: the live
// engine cuts a bypassed connection's packets to their headers in the
// kernel). It does nothing without Options.Bypass.
func (h *Handler) SetBypass(f func(c *reassembly.Conn)) {
	if h.bypass {
		h.OnBypass = f
	}
}

// Bypassed reports, from inside the inner handler's Closed, whether the
// connection closing was bypassed and how many bytes were not passed on
// (for the connection log).
func (h *Handler) Bypassed() (bool, uint64) {
	if h.closing == nil {
		return false, 0
	}
	return h.closing.bypassed, h.closing.skipped
}

// ClosingTLS reports, while the inner handler's Closed runs, whether the
// connection closing is TLS (it has or gets a line in this log): for the
// conn log's service (connlog.Handler.AddService).
func (h *Handler) ClosingTLS() bool {
	c := h.closing
	return c != nil && (c.logged || c.tls != nil && c.tls.IsTLS())
}

// Closed implements reassembly.Handler: the line of a TLS connection
// whose handshake did not complete is written.
func (h *Handler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	cs := h.ctx(c)
	if cs.bypassed { // and those the Table no longer kept (Conn.Bypass)
		cs.skipped += c.Stats(reassembly.FromClient).Bypassed + c.Stats(reassembly.FromServer).Bypassed
	}
	h.closing = cs
	c.Ctx = cs.inner
	h.inner.Closed(c, r)
	h.closing = nil
	if cs.tls != nil && cs.tls.IsTLS() && !cs.logged {
		var at int64
		if h.batch.Capture != nil {
			at = h.batch.Capture.Closed(c, r, h.batch.Clock())
		}
		h.line(c, cs, at)
	}
	h.dropTLS(cs)
	h.bypassedBytes += cs.skipped
	cs.inner = nil
	cs.bypassed, cs.logged = false, false
	cs.skipped = 0
	h.free.Release(c, cs)
	if h.events++; h.events%32 == 0 {
		h.publish()
	}
}

// infoSize is the size of the tlsinfo.Info value copied into a record.
const infoSize = int(unsafe.Sizeof(tlsinfo.Info{}))

// A line travels to the writer as a record (pipe.AppendHeader, op 1):
// arg is the length of the connection's JSON prefix (uid and id.*),
// followed by the raw tlsinfo.Info value (infoSize bytes; the writer is
// in the same process) and the leaf certificate's DER; id is 1 when the
// connection is bypassed.
const opLine = 1

// delivered is the stamp of a line logged as bytes released at ts are
// delivered (Options.Capture).
func (h *Handler) delivered(c *reassembly.Conn, ts int64) int64 {
	if h.batch.Capture == nil {
		return 0
	}
	return h.batch.Capture.Delivered(c, ts)
}

// UseClock gives the Handler its worker's capture clock (Unix ns; the
// Table's Now), which stamps lines with Options.Capture. Call it before
// the worker starts.
func (h *Handler) UseClock(now func() int64) { h.batch.Now = now }

// Advanced implements engine/worker.Ticker: after each batch of packets,
// with the worker's clock. With Options.Capture, when the clock enters a
// later rotation span the buffer goes to the writer, and a mark saying no
// earlier line will come from this worker (logfile.Batch.Advanced).
func (h *Handler) Advanced(now int64) {
	if h.batch.Advanced(now) {
		h.put()
		h.log.pipe.Mark(h.n, now)
	}
}

// line appends the connection's line, logged at capture time at (its
// stamp with Options.Capture).
func (h *Handler) line(c *reassembly.Conn, cs *conn, at int64) {
	if flush, stamp := h.batch.Line(at, len(h.buf)); flush {
		h.buf = h.log.pipe.PutAt(h.buf, stamp) // lines of an earlier span
	}
	if len(h.buf)+pipe.HdrLen+256+infoSize+len(cs.tls.Leaf) > h.size && len(h.buf) > 0 {
		h.put()
	}
	wasEmpty := len(h.buf) == 0
	n := len(h.buf)
	var id uint64
	if cs.bypassed {
		id = 1
	}
	h.buf = pipe.AppendHeader(h.buf, opLine, id, 0, 0)
	start := len(h.buf)
	h.buf = appendConnPrefix(h.buf, c, h.log.opt.CommunityID)
	plen := len(h.buf) - start
	inf := &cs.tls.Info
	h.buf = append(h.buf, unsafe.Slice((*byte)(unsafe.Pointer(inf)), infoSize)...)
	h.buf = append(h.buf, cs.tls.Leaf...)
	// arg: the prefix length (rewrite the header's arg field)
	putU64(h.buf[n+9:], uint64(plen))
	pipe.SetLen(h.buf[n:], len(h.buf)-start)
	h.logged++
	switch {
	case len(h.buf) >= h.size:
		h.put()
	case h.every < 0:
	case wasEmpty:
		h.since = time.Now()
	case time.Since(h.since) >= h.every:
		h.put()
	}
}

func putU64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func (h *Handler) put() { h.buf = h.log.pipe.PutAt(h.buf, h.batch.Stamp()) }

// Flush hands the lines buffered so far to the writer and publishes the
// counters. Call it from the Handler's worker. It flushes the inner
// handler too when that has a Flush method.
func (h *Handler) Flush() {
	h.publish()
	if len(h.buf) > 0 {
		h.put()
	}
	if f, ok := h.inner.(interface{ Flush() }); ok {
		f.Flush()
	}
}

func (h *Handler) publish() {
	h.mu.Lock()
	h.pub = published{tls: h.p.Stats(), logged: h.logged, bypassed: h.bypassed, bypassedBytes: h.bypassedBytes}
	h.mu.Unlock()
}

// appendConnPrefix appends the uid and endpoint fields of a line, and its
// community_id when cid is on.
func appendConnPrefix(b []byte, c *reassembly.Conn, cid communityid.Field) []byte {
	b = append(b, `,"uid":"`...)
	b = connlog.AppendUID(b, c.ID())
	cl, sv := c.Client(), c.Server()
	b = append(b, `","id.orig_h":"`...)
	b = cl.Addr().Unmap().WithZone("").AppendTo(b)
	b = append(b, `","id.orig_p":`...)
	b = jsonw.AppendUint(b, uint64(cl.Port()))
	b = append(b, `,"id.resp_h":"`...)
	b = sv.Addr().Unmap().WithZone("").AppendTo(b)
	b = append(b, `","id.resp_p":`...)
	b = jsonw.AppendUint(b, uint64(sv.Port()))
	return cid.AppendJSON(b, cl, sv)
}
