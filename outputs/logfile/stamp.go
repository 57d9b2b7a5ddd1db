package logfile

import (
	"time"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Capture is how a log stamps its lines with the capture time they were
// logged at, Zeek's rule for rotation on network time: a record goes to
// the file whose span holds the time it was written, a connection record
// its close. Rotation by stamps does not depend on which worker logged a
// line nor on how far the others had got, so a capture read with any
// number of workers gives the same files with the same lines.
//
// A worker's Table closes a connection when its clock passes the time
// the connection ended, and how far past depends on the packets that
// worker was given; the stamp is the time it ended, which does not:
//   - FIN: the last packet of the connection;
//   - timeout: its last packet plus the idle timeout;
//   - RST (closed after the grace period): its last packet plus the grace,
//     at most the worker's clock;
//   - end of input, shutdown, port reuse, eviction: the worker's clock
//     (the same for every worker at the end of input).
//
// A line logged while bytes are delivered (an HTTP transaction, a TLS
// handshake) is stamped with the packet that released the bytes, at most
// the connection's timeout.
type Capture struct {
	// Interval is the rotation interval (File.SetStamp's spans).
	Interval time.Duration
	// Idle and Grace are the reassembly's IdleTimeout and ResetGrace
	// (zero: reassembly's defaults, 5 minutes and 1 second).
	Idle, Grace time.Duration
}

func (c *Capture) idle() int64 {
	if c.Idle > 0 {
		return int64(c.Idle)
	}
	return int64(5 * time.Minute)
}

func (c *Capture) grace() int64 {
	if c.Grace > 0 {
		return int64(c.Grace)
	}
	return int64(time.Second)
}

// Closed returns the stamp of a line written when conn closes for reason
// r, now being the worker's clock (Unix ns; 0 if unknown).
func (c *Capture) Closed(conn *reassembly.Conn, r reassembly.Reason, now int64) int64 {
	last := conn.LastNanos()
	if now < last {
		now = last // no clock given: the connection's own time
	}
	switch r {
	case reassembly.ReasonFIN:
		return last
	case reassembly.ReasonTimeout:
		return min(now, last+c.idle())
	case reassembly.ReasonRST:
		return min(now, last+c.grace())
	}
	return now
}

// Delivered returns the stamp of a line written while conn's bytes
// released at ts (reassembly.Data.TS) are delivered.
func (c *Capture) Delivered(conn *reassembly.Conn, ts int64) int64 {
	return min(ts, conn.LastNanos()+c.idle())
}

// Span returns the start of the rotation span holding stamp ts (Unix ns),
// or ts itself without rotation.
func (c *Capture) Span(ts int64) int64 {
	iv := int64(c.Interval)
	if iv <= 0 {
		return 0
	}
	return floorDiv(ts, iv) * iv
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Batch is one worker's buffer of lines as the stamps see it: every line
// in a buffer is of one span, so that the writer can put the whole buffer
// in one file. A log's Handler keeps one; the zero value (no Capture) does
// nothing.
type Batch struct {
	Capture *Capture
	// Now is the worker's capture clock (set through the Handler's
	// UseClock); nil: the connections' own times.
	Now   func() int64
	span  int64
	stamp int64
	// the span the worker's clock was in at its last Advanced: the
	// writer has been told nothing earlier comes from this worker
	marked   bool
	markSpan int64
}

// Advanced is called with the worker's clock after each batch of packets
// (engine/worker). It reports whether the clock entered a later span
// since the last call: the Handler then hands its buffer over and sends
// the writer a mark (pipe.Mark, File.Reached), after which no line of
// this worker is stamped before that span (Line moves a later one to its
// start: a capture whose timestamps run backwards), so the writer can
// close the earlier spans' files once every worker has marked.
func (b *Batch) Advanced(now int64) bool {
	if b.Capture == nil {
		return false
	}
	sp := b.Capture.Span(now)
	if b.marked && sp <= b.markSpan {
		return false
	}
	b.marked, b.markSpan = true, sp
	return true
}

// Clock returns the worker's clock, 0 if unknown.
func (b *Batch) Clock() int64 {
	if b.Now == nil {
		return 0
	}
	return b.Now()
}

// Line is called before a line stamped ts is appended to a buffer of n
// bytes. When the buffer holds lines of another span it must be handed
// over first, with the stamp returned (flush). The buffer's stamp
// (Stamp) is then its first line's.
func (b *Batch) Line(ts int64, n int) (flush bool, stamp int64) {
	if b.Capture == nil {
		return false, 0
	}
	if b.marked && ts < b.markSpan {
		ts = b.markSpan
	}
	sp := b.Capture.Span(ts)
	if n > 0 && sp == b.span {
		return false, 0
	}
	flush, stamp = n > 0, b.stamp
	b.span, b.stamp = sp, ts
	return flush, stamp
}

// Stamp is the stamp of the buffer's lines (0 without a Capture).
func (b *Batch) Stamp() int64 { return b.stamp }
