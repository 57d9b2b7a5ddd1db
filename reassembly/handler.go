package reassembly

import "time"

// Dir is the direction bytes travel in, by role.
type Dir uint8

const (
	// FromClient is data sent by the client (Sniffer::Connection's "sent").
	FromClient Dir = 0
	// FromServer is data sent by the server ("received").
	FromServer Dir = 1
)

// Reverse returns the other direction.
func (d Dir) Reverse() Dir { return d ^ 1 }

func (d Dir) String() string {
	if d == FromClient {
		return "client"
	}
	return "server"
}

// Data is one piece of a stream handed to a Handler.
type Data struct {
	// Bytes are borrowed for the duration of the call: copy what you keep.
	// Empty when the call only reports a gap.
	Bytes []byte
	// Offset is the stream offset of Bytes[0]: bytes delivered plus bytes
	// missed before it, counted from the first byte after the SYN (or from
	// the first byte seen, for a connection picked up midstream).
	Offset uint64
	// Gap is the number of bytes missing right before Bytes: never
	// captured (loss at the capture point, snap length) or given up on when
	// a memory limit forced delivery.
	Gap uint64
	// Unacked is set when the bytes were delivered without the peer's ACK:
	// at flush, close or timeout, under memory pressure, or because the
	// peer's direction was never captured.
	Unacked bool
	// TS is the capture time (Unix ns) of the packet that released the
	// bytes: usually the peer's ACK.
	TS int64
}

// Time returns TS as a time.Time.
func (d *Data) Time() time.Time { return time.Unix(0, d.TS) }

// Reason says why a connection closed.
type Reason uint8

// Close reasons.
const (
	ReasonNone     Reason = iota
	ReasonFIN             // both directions finished with FIN
	ReasonRST             // a valid RST
	ReasonTimeout         // idle longer than Config.IdleTimeout (capture clock)
	ReasonEvicted         // pushed out by a limit: Config.MaxConns, MaxHalfOpen or MaxMemory
	ReasonReused          // a new SYN with a new ISN took over the 4-tuple
	ReasonFlush           // end of input
	ReasonShutdown        // the capture was stopped (live)
	numReasons
)

var reasonNames = [numReasons]string{"none", "fin", "rst", "timeout", "evicted", "reused", "flush", "shutdown"}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Handler receives the streams of every connection of a Table. One Handler
// serves one Table (one worker), so it needs no locks; per-connection state
// goes in Conn.Ctx.
type Handler interface {
	// Opened is called once per connection, before any data: when the
	// Table makes its Conn. A half-open connection (one side seen, no
	// payload: a SYN alone) gets its Conn, with everything seen so far,
	// only when it leaves that state or closes; Conn.Start is still the
	// time of its first packet.
	Opened(c *Conn)
	// Sent delivers bytes sent by the client, in order.
	Sent(c *Conn, d Data)
	// Received delivers bytes sent by the server, in order.
	Received(c *Conn, d Data)
	// Closed is called exactly once per connection, last. The Conn must
	// not be used after Closed returns: the Table recycles it.
	Closed(c *Conn, r Reason)
}

// HalfOpenIgnorer may be implemented by a Handler that has no use for
// connections that close while still half-open (one side seen, no
// payload: an unanswered SYN, a stray ACK). When IgnoresHalfOpen returns
// true (asked once, by NewTable), the Table closes them without making a
// Conn: they are counted in Stats as ever but never reach the Handler.
// A SYN flood then costs a fraction as much. Connections that leave the
// half-open state reach the Handler as always.
type HalfOpenIgnorer interface {
	IgnoresHalfOpen() bool
}

// Funcs adapts plain functions to a Handler; nil fields are skipped.
type Funcs struct {
	OnOpen     func(c *Conn)
	OnSent     func(c *Conn, d Data)
	OnReceived func(c *Conn, d Data)
	OnClose    func(c *Conn, r Reason)
}

// IgnoresHalfOpen implements HalfOpenIgnorer: with neither OnOpen nor
// OnClose, a connection that closes half-open has nothing to tell.
func (f Funcs) IgnoresHalfOpen() bool { return f.OnOpen == nil && f.OnClose == nil }

// Opened implements Handler.
func (f Funcs) Opened(c *Conn) {
	if f.OnOpen != nil {
		f.OnOpen(c)
	}
}

// Sent implements Handler.
func (f Funcs) Sent(c *Conn, d Data) {
	if f.OnSent != nil {
		f.OnSent(c, d)
	}
}

// Received implements Handler.
func (f Funcs) Received(c *Conn, d Data) {
	if f.OnReceived != nil {
		f.OnReceived(c, d)
	}
}

// Closed implements Handler.
func (f Funcs) Closed(c *Conn, r Reason) {
	if f.OnClose != nil {
		f.OnClose(c, r)
	}
}
