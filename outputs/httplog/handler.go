package httplog

import (
	"sync"
	"time"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/connstate"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Handler logs the HTTP transactions of one worker's connections. It
// implements reassembly.Handler and keeps its per-connection state in
// Conn.Ctx (use reassembly.Multi to combine it with other handlers).
type Handler struct {
	log   *Log
	p     *http1.Parser
	buf   []byte
	size  int
	every time.Duration
	since time.Time // when buf became non-empty

	bodies bool
	max    uint64
	idHi   uint64 // handler number, high bits of body ids
	nextID uint64

	free   connstate.Free[conn]
	logged uint64
	files  uint64
	events uint32 // transactions and closes: every 32nd publishes
	dirty  bool   // publish after the current call

	mu  sync.Mutex // guards pub: taken once per 32 events (and Flush)
	pub published

	batch logfile.Batch // the stamps of buf's lines (Options.Capture)
	at    int64         // the stamp of a line logged now
	n     int           // the Handler's number, from 0

	closedHTTP bool // ClosedHTTP
}

// published is what a Handler shares with Log.Stats.
type published struct {
	http   http1.Stats
	logged uint64
	files  uint64
}

var _ reassembly.Handler = (*Handler)(nil)

// conn is the per-connection state.
type conn struct {
	s      *http1.ConnState
	prefix []byte // appendConnPrefix, made at the first line
	bodies []body // bodies being written, or ended and waiting for their line
}

// body is one body file of a connection, from its first byte to the line
// of its transaction.
type body struct {
	m     *http1.Message
	id    uint64
	ended bool
}

// callbacks are the http1 callbacks without a body sink (no per-byte
// call when bodies are not written).
type callbacks struct{ h *Handler }

func (cb callbacks) Request(req *http1.Request, c *reassembly.Conn) { cb.h.request(req, c) }
func (cb callbacks) Response(res *http1.Response, req *http1.Request, c *reassembly.Conn) {
	cb.h.response(res, req, c)
}

// bodyCallbacks add the body sink.
type bodyCallbacks struct{ callbacks }

func (cb bodyCallbacks) Body(m *http1.Message, chunk []byte, c *reassembly.Conn) {
	cb.h.body(m, chunk, c)
}

func newHandler(l *Log, n uint64) *Handler {
	h := &Handler{
		log:    l,
		buf:    l.pipe.Get(),
		size:   l.pipe.Size(),
		every:  l.opt.FlushInterval,
		bodies: l.opt.BodiesDir != "",
		max:    uint64(l.opt.BodyMax),
		idHi:   n << 44,
	}
	h.batch.Capture = l.opt.Capture
	var cb http1.Callbacks = callbacks{h}
	if h.bodies {
		cb = bodyCallbacks{callbacks{h}}
	}
	h.p = http1.NewParser(l.opt.HTTP, cb)
	return h
}

// Parser returns the Handler's parser (for its Stats, from the worker).
func (h *Handler) Parser() *http1.Parser { return h.p }

// Logged returns how many lines this Handler has formatted (call it from
// the Handler's worker).
func (h *Handler) Logged() uint64 { return h.logged }

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

// Opened implements reassembly.Handler.
func (h *Handler) Opened(c *reassembly.Conn) { c.Ctx = h.newConn() }

func (h *Handler) newConn() *conn {
	cs := h.free.Get(connstate.New[conn])
	cs.s = h.p.NewConnState()
	return cs
}

func (h *Handler) ctx(c *reassembly.Conn) *conn { return connstate.Of(c, h.newConn) }

// Sent implements reassembly.Handler: client bytes.
func (h *Handler) Sent(c *reassembly.Conn, d reassembly.Data) {
	if h.batch.Capture != nil {
		h.at = h.batch.Capture.Delivered(c, d.TS)
	}
	h.p.Feed(h.ctx(c).s, c, reassembly.FromClient, d)
	if h.dirty {
		h.publish()
	}
}

// Received implements reassembly.Handler: server bytes.
func (h *Handler) Received(c *reassembly.Conn, d reassembly.Data) {
	if h.batch.Capture != nil {
		h.at = h.batch.Capture.Delivered(c, d.TS)
	}
	h.p.Feed(h.ctx(c).s, c, reassembly.FromServer, d)
	if h.dirty {
		h.publish()
	}
}

// Closed implements reassembly.Handler: transactions still open are
// logged.
func (h *Handler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	cs := h.ctx(c)
	if h.batch.Capture != nil {
		h.at = h.batch.Capture.Closed(c, r, h.batch.Clock())
	}
	h.closedHTTP = cs.s != nil && cs.s.IsHTTP()
	h.p.Close(cs.s, c, r)
	cs.s = nil
	// every body has had its line by now; end any left defensively
	for i := range cs.bodies {
		if !cs.bodies[i].ended {
			h.endBody(&cs.bodies[i])
		}
		cs.bodies[i] = body{}
	}
	cs.bodies = cs.bodies[:0]
	cs.prefix = cs.prefix[:0]
	h.free.Release(c, cs)
	if h.events++; h.events%publishEvery == 0 {
		h.publish()
	}
}

// ClosedHTTP reports whether the connection whose Closed ran last on this
// Handler was recognised as HTTP: for a handler called after this one for
// the same close, such as the conn log's service (connlog.Handler.AddService).
func (h *Handler) ClosedHTTP() bool { return h.closedHTTP }

// publishEvery: the counters are published every publishEvery
// transactions or connection closes (and by Flush).
const publishEvery = 32

// Flush hands the lines buffered so far to the writer and publishes the
// counters. Call it from the Handler's worker, e.g. when it goes idle.
func (h *Handler) Flush() {
	h.publish()
	if len(h.buf) > 0 {
		h.put()
	}
}

func (h *Handler) publish() {
	h.dirty = false
	h.mu.Lock()
	h.pub = published{http: h.p.Stats(), logged: h.logged, files: h.files}
	h.mu.Unlock()
}

func (h *Handler) put() {
	h.buf = h.log.pipe.PutAt(h.buf, h.batch.Stamp())
	h.since = time.Time{}
}

// tick hands the buffer over when it is full or has waited longer than
// the flush interval.
func (h *Handler) tick() {
	if len(h.buf) >= h.size {
		h.put()
		return
	}
	if h.every < 0 || len(h.buf) == 0 || h.logged%8 != 0 && !h.since.IsZero() {
		return // the clock is read every 8 lines
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

// reserve makes room for n bytes, handing the buffer over if needed.
func (h *Handler) reserve(n int) {
	if len(h.buf)+n > h.size && len(h.buf) > 0 {
		h.put()
	}
}

func (h *Handler) request(req *http1.Request, c *reassembly.Conn) {
	if !h.bodies {
		return
	}
	// the request body, if any, is complete: its file ends now, its id
	// waits for the transaction's line
	cs := h.ctx(c)
	if b := cs.find(&req.Message); b != nil && !b.ended {
		h.endBody(b)
	}
}

func (h *Handler) response(res *http1.Response, req *http1.Request, c *reassembly.Conn) {
	var reqID, resID uint64
	cs := h.ctx(c)
	if len(cs.prefix) == 0 {
		cs.prefix = appendConnPrefix(cs.prefix, c, h.log.opt.CommunityID)
	}
	if h.bodies {
		if req != nil {
			if b := cs.find(&req.Message); b != nil {
				if !b.ended {
					h.endBody(b)
				}
				reqID = b.id
				cs.remove(b)
			}
		}
		if res != nil {
			if b := cs.find(&res.Message); b != nil {
				if !b.ended {
					h.endBody(b)
				}
				resID = b.id
				cs.remove(b)
			}
		}
	}
	if flush, stamp := h.batch.Line(h.at, len(h.buf)); flush {
		h.buf = h.log.pipe.PutAt(h.buf, stamp) // lines of an earlier span
		h.since = time.Time{}
	}
	h.reserve(hdrLen + 1024)
	n := len(h.buf)
	h.buf = pipe.AppendHeader(h.buf, opLine, reqID, resID, 0)
	h.buf = appendRecord(h.buf, cs.prefix, req, res)
	pipe.SetLen(h.buf[n:], len(h.buf)-n-hdrLen)
	h.logged++
	if h.events++; h.events%publishEvery == 0 {
		h.dirty = true
	}
	h.tick()
}

func (cs *conn) find(m *http1.Message) *body {
	for i := len(cs.bodies) - 1; i >= 0; i-- {
		if cs.bodies[i].m == m {
			return &cs.bodies[i]
		}
	}
	return nil
}

func (cs *conn) remove(b *body) {
	for i := range cs.bodies {
		if &cs.bodies[i] == b {
			copy(cs.bodies[i:], cs.bodies[i+1:])
			cs.bodies[len(cs.bodies)-1] = body{}
			cs.bodies = cs.bodies[:len(cs.bodies)-1]
			return
		}
	}
}

// body writes a piece of a message's decoded body at its offset. The
// message's BodyLen already counts it (and any gap before it).
func (h *Handler) body(m *http1.Message, chunk []byte, c *reassembly.Conn) {
	cs := h.ctx(c)
	b := cs.find(m)
	if b == nil {
		b = h.startBody(cs, m, c)
	}
	off := m.BodyLen - uint64(len(chunk))
	if off >= h.max {
		return
	}
	if rest := h.max - off; uint64(len(chunk)) > rest {
		chunk = chunk[:rest]
	}
	for len(chunk) > 0 {
		room := h.size - len(h.buf) - hdrLen
		if room < minChunk && room < len(chunk) {
			h.put()
			room = h.size - hdrLen
		}
		k := min(room, len(chunk))
		h.buf = pipe.AppendHeader(h.buf, opData, b.id, off, k)
		h.buf = append(h.buf, chunk[:k]...)
		off += uint64(k)
		chunk = chunk[k:]
	}
}

// minChunk: a piece is split across buffers rather than starting a new
// buffer when at least this much room is left.
const minChunk = 512

func (h *Handler) startBody(cs *conn, m *http1.Message, c *reassembly.Conn) *body {
	h.nextID++
	id := h.idHi | h.nextID
	cs.bodies = append(cs.bodies, body{m: m, id: id})
	h.files++
	enc := encodingOf(m.ContentEncoding())
	h.reserve(hdrLen + maxNameLen)
	n := len(h.buf)
	h.buf = pipe.AppendHeader(h.buf, opOpen, id, uint64(enc), 0)
	h.buf = appendBodyName(h.buf, c.ID(), m, enc)
	pipe.SetLen(h.buf[n:], len(h.buf)-n-hdrLen)
	return &cs.bodies[len(cs.bodies)-1]
}

// endBody closes a body's file: the writer extends it to the body's
// length (trailing gap) or BodyMax, and decodes it if asked to.
func (h *Handler) endBody(b *body) {
	m := b.m
	reached := min(m.BodyLen, h.max)
	var fl uint64
	if m.BodyLen > h.max {
		fl |= endTruncated
	}
	if m.GapLen > 0 {
		fl |= endGap
	}
	if m.Flags&http1.FlagIncomplete != 0 {
		fl |= endIncomplete
	}
	h.reserve(hdrLen + 16)
	h.buf = pipe.AppendHeader(h.buf, opEnd, b.id, reached, 8)
	h.buf = appendU64(h.buf, fl)
	b.ended = true
}

// maxNameLen bounds appendBodyName's output.
const maxNameLen = connlog.UIDLen + 1 + 20 + len("-res-orphan") + 16
