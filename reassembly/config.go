package reassembly

import "time"

// Delivery chooses when buffered bytes are handed to the Handler.
type Delivery uint8

const (
	// AckGated hands over a byte once the peer has ACKed it (default): what
	// the receiving application can have seen.
	AckGated Delivery = iota
	// Immediate hands over contiguous bytes as soon as they are captured.
	Immediate
)

// OverlapPolicy chooses which copy wins when segments overlap.
type OverlapPolicy uint8

const (
	// OverlapFirst keeps the bytes captured first (default; tshark and
	// Windows/BSD-style stacks).
	OverlapFirst OverlapPolicy = iota
	// OverlapLast lets later bytes replace buffered ones (old Linux style).
	// Bytes already delivered are never replaced.
	OverlapLast
)

// Config tunes a Table. The zero value is the documented default for every
// field.
type Config struct {
	Delivery Delivery
	Overlap  OverlapPolicy
	// IgnoreVLAN leaves VLAN ids out of the flow key (they are in it by
	// default: the same 4-tuple on two VLANs is two connections).
	IgnoreVLAN bool
	// NoVLANJoin keeps a connection's two directions apart when they
	// arrive with different VLAN stacks (a SPAN port tagging one direction
	// only). By default they are joined where the evidence says they are
	// one connection: see docs/REASSEMBLY.md.
	NoVLANJoin bool
	// NoMidstream ignores connections whose SYN was not captured
	// (default: they are picked up and marked Midstream).
	NoMidstream bool
	// IdleTimeout closes a connection with no packet for this long, on the
	// capture clock. Default 5 minutes.
	IdleTimeout time.Duration
	// Linger is how long a closed 4-tuple is remembered so that its last
	// ACKs do not open a ghost connection. Default 10 seconds.
	Linger time.Duration
	// ResetGrace is how long a RST waits before it closes the connection.
	// A later packet from the side that sent the RST proves it forged (an
	// injected RST, or one the stack did not act on) and cancels it, as a
	// receiver that drops out-of-window RSTs would. Default 1 second.
	ResetGrace time.Duration
	// OneSidedBytes: when the peer of a direction has never been captured,
	// contiguous bytes are delivered (flagged Unacked) once this many are
	// buffered. Default 16 KiB.
	OneSidedBytes int
	// MaxConnBuffer bounds the bytes buffered per connection; past it the
	// oldest buffered bytes are delivered unACKed, holes before them
	// reported as gaps. Default 4 MiB.
	MaxConnBuffer int
	// MaxConnSegments bounds the buffered segments per connection (tiny
	// segments cost more than their bytes). Default 4096.
	MaxConnSegments int
	// MaxBuffer bounds the bytes buffered by the whole Table; past it the
	// connection that has buffered longest is forced as above. Default
	// 256 MiB.
	MaxBuffer int
	// MaxConns bounds the open connections of the Table (closed ones still
	// lingering included); past it one is closed with ReasonEvicted: a
	// lingering one first, then the least recently active one holding no
	// buffered bytes, else the least recently active one. Default 1<<20.
	MaxConns int
	// MaxHalfOpen bounds the half-open connections (only one side seen, no
	// payload yet: a SYN, a lone ACK), held in compact form; past it the
	// oldest is closed with ReasonEvicted. Default 1<<20.
	MaxHalfOpen int
	// MaxMemory, when set, bounds the Table's connection state and
	// buffered payload together: it lowers MaxHalfOpen, MaxConns and
	// MaxBuffer to their shares of it (an eighth, three eighths and a
	// quarter; spare pooled buffers get the last quarter). See
	// docs/REASSEMBLY.md for what it does not cover.
	MaxMemory int
	// Evicted, if set, is called each time a limit evicts a connection
	// (after the Handler's Closed), with whether it was half-open and
	// whether it held buffered bytes. Tables of several workers may share
	// one Config: it must then be safe for concurrent use.
	Evicted func(halfOpen, buffered bool)

	// noHalfOpen gives every connection a full Conn from its first packet
	// (tests compare the two ways).
	noHalfOpen bool
}

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	c.applyBudget()
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.Linger <= 0 {
		c.Linger = 10 * time.Second
	}
	if c.ResetGrace <= 0 {
		c.ResetGrace = time.Second
	}
	if c.OneSidedBytes <= 0 {
		c.OneSidedBytes = 16 << 10
	}
	if c.MaxConnBuffer <= 0 {
		c.MaxConnBuffer = 4 << 20
	}
	if c.MaxConnSegments <= 0 {
		c.MaxConnSegments = 4096
	}
	if c.MaxBuffer <= 0 {
		c.MaxBuffer = 256 << 20
	}
	if c.MaxBuffer < c.MaxConnBuffer {
		c.MaxConnBuffer = c.MaxBuffer
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 1 << 20
	}
	if c.MaxHalfOpen <= 0 {
		c.MaxHalfOpen = 1 << 20
	}
	return c
}
