package reassembly

import (
	"net/netip"
	"time"
)

// State is where a connection is in its life, as far as the capture shows.
type State uint8

// Connection states.
const (
	StateSynSent     State = iota // only the client's SYN seen
	StateEstablished              // data may flow both ways
	StateClosing                  // one direction finished (half-close)
	StateClosed                   // closed: Closed was called
)

var stateNames = [...]string{"syn-sent", "established", "closing", "closed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// DirStats counts one direction of a connection.
type DirStats struct {
	Packets   uint64 // segments seen
	Bytes     uint64 // payload bytes captured, retransmissions included
	Delivered uint64 // bytes handed to the Handler
	Missed    uint64 // bytes reported as gaps
	Unacked   uint64 // of Delivered, bytes delivered without the peer's ACK
	Dups      uint64 // segments with nothing new (retransmissions)
	Overlaps  uint64 // segments that partly overlapped bytes seen before
	Conflicts uint64 // segments whose overlapping bytes differed
	SYN       bool   // a SYN (or SYN+ACK) was seen
	FIN       bool   // a FIN was seen
	RST       bool   // a RST was seen
	ZeroWin   bool   // a zero window was advertised
	Bypassed  uint64 // after Conn.Bypass: stream bytes neither delivered nor missed (by sequence extent, set at the close)
}

// Conn is one TCP connection. It belongs to the Table that made it and is
// valid until Handler.Closed returns.
type Conn struct {
	// The fields every packet reads or writes come first, in the first
	// two cache lines (a Conn is 384 bytes, and slabs of them start on a
	// page: Table.newConn): on real traffic most packets find their
	// connection out of cache, and each line is a miss.
	key        Key
	state      State
	midstream  bool
	bypass     bool // Bypass was called: reassemble nothing more
	bypassed   bool // and what was buffered then has been let go
	histSeen   uint32
	histN      uint8
	clientIsHi bool
	rstPending bool
	rstDir     Dir
	// the second line
	last     int64
	tick     uint64 // Table.tick when last fed (orders it among embryos)
	buffered int    // bytes buffered in both directions (half.buffered)
	// half[d] is direction d: what it sent, buffered, and its counters.
	// The pair lives apart from the Conn and goes back to the Table when
	// the connection closes: a closed connection lingering (Config.Linger)
	// keeps only this smaller part, and a busy capture has many of them.
	half *[2]half
	// aliased: read by the lookup of the next packet of another flow
	aliased   bool
	transient bool // an embryo replayed only to be closed: not in the index
	// links into the Table's lists: lkMain is the LRU (open) or linger
	// (closed) list, lkBuf the connections holding buffered bytes, lkRST
	// the connections with a RST waiting for its grace period.
	links [3]link

	// Ctx is for the Handler's per-connection state; the Table never
	// touches it except to clear it when the Conn is recycled.
	Ctx any

	hash uint64 // key.Hash(): the index's

	id     uint64
	ep     [2]Endpoint // by Dir: ep[FromClient] is the client
	v6     bool
	reason Reason
	start  int64
	// the client's ISN, kept for a lingering connection: a SYN with it is
	// a retransmission (a ghost), any other SYN starts a new connection
	lingerISN      Seq
	lingerISNKnown bool

	hist [24]byte

	// alias is the key of the other direction's packets when the two
	// directions arrived with different VLAN stacks and were joined
	// (vlanjoin.go); it is in the index too, under aliasHash.
	alias     Key
	aliasHash uint64
	aliasDir  Dir // the direction whose packets carry alias's VLANs

	lingerUntil int64
	rstAt       int64
	_           [connPad]byte
}

// connPad makes a Conn 384 bytes, six cache lines, so that in a slab of
// them (Table.newConn) every Conn starts on a line and its hot fields
// take three (TestConnLayout).
const connPad = 8

// ID is a stable 64-bit identifier made from the 4-tuple, VLANs, start time
// and initial sequence number: the same connection gets the same ID however
// many workers share the capture.
func (c *Conn) ID() uint64 { return c.id }

// Client is the endpoint that opened the connection (sent the SYN, or was
// guessed to be the client for a connection picked up midstream).
func (c *Conn) Client() netip.AddrPort { return c.ep[FromClient].AddrPort() }

// Server is the other endpoint.
func (c *Conn) Server() netip.AddrPort { return c.ep[FromServer].AddrPort() }

// Endpoint returns the raw endpoint of a role.
func (c *Conn) Endpoint(d Dir) Endpoint { return c.ep[d] }

// IPv6 reports whether the connection runs over IPv6.
func (c *Conn) IPv6() bool { return c.v6 }

// VLANs returns the VLAN stack of the connection (empty when untagged or
// when VLANs are not part of the key).
func (c *Conn) VLANs() VLANs { return c.key.VLANs }

// VLANsOf returns the VLAN stack that packets of direction d carried:
// the same both ways except for a connection whose directions were joined
// across VLANs (Joined).
func (c *Conn) VLANsOf(d Dir) VLANs {
	if c.aliased && d == c.aliasDir {
		return c.alias.VLANs
	}
	return c.key.VLANs
}

// Joined reports whether the connection's two directions arrived with
// different VLAN stacks and were joined into one (Config.NoVLANJoin).
func (c *Conn) Joined() bool { return c.aliased }

// Key returns the canonical flow key.
func (c *Conn) Key() Key { return c.key }

// Start is the capture time of the connection's first packet.
func (c *Conn) Start() time.Time { return time.Unix(0, c.start) }

// StartNanos is Start in Unix nanoseconds.
func (c *Conn) StartNanos() int64 { return c.start }

// LastActivity is the capture time of the connection's latest packet.
func (c *Conn) LastActivity() time.Time { return time.Unix(0, c.last) }

// LastNanos is LastActivity in Unix nanoseconds.
func (c *Conn) LastNanos() int64 { return c.last }

// State returns the connection's state.
func (c *Conn) State() State { return c.state }

// CloseReason returns why the connection closed (ReasonNone while open).
func (c *Conn) CloseReason() Reason { return c.reason }

// Bypass asks the Table to reassemble nothing more of the connection
// (encrypted traffic past its handshake, say): bytes buffered now are let
// go undelivered, later payload is not kept, the stream's bytes past the
// delivery point are counted at the close (DirStats.Bypassed: by sequence
// numbers, so packets cut to their headers count in full), and the
// connection is still tracked (state, ACKs, FIN, RST, timeout, close).
// A Handler may call it from any of its calls; the Table acts on it at the
// connection's next packet or close.
func (c *Conn) Bypass() { c.bypass = true }

// Bypassed reports whether Bypass was called.
func (c *Conn) Bypassed() bool { return c.bypass }

// Midstream reports whether the connection was picked up without its SYN.
func (c *Conn) Midstream() bool { return c.midstream }

// OneSided reports whether only one direction has been captured so far.
func (c *Conn) OneSided() bool {
	if c.half == nil {
		return false
	}
	return c.half[0].stats.Packets == 0 || c.half[1].stats.Packets == 0
}

// Stats returns the counters of one direction.
func (c *Conn) Stats(d Dir) DirStats {
	if c.half == nil { // closed and recycled: not to be used any more
		return DirStats{}
	}
	return c.half[d].stats
}

// History is the connection's history in Zeek's notation: one letter per
// event kind and direction in order of first occurrence, upper case for the
// client (S syn, H syn-ack, A ack, D data, F fin, R rst, T retransmission,
// G gap, W zero window, I inconsistent overlap, ^ roles guessed).
func (c *Conn) History() string { return string(c.hist[:c.histN]) }

// histLetters are the history letters the Table records, client case,
// in the order of the hist constants.
const histLetters = "SHADFRTGWI^"

// The history letters by position in histLetters: addHist takes these so
// that, inlined with a constant, a letter's bit and byte are constants
// too (with the letter looked up in a table, addHist was 27 instructions
// a packet on real traffic, cachegrind).
const (
	histS uint = iota
	histH
	histA
	histD
	histF
	histR
	histT
	histG
	histW
	histI
	histCaret
)

// addHist records history letter i (a hist constant) for direction d,
// once per connection and direction.
func (c *Conn) addHist(d Dir, i uint) {
	bit := uint32(1) << (i + uint(d&1)*uint(len(histLetters)))
	if c.histSeen&bit != 0 || int(c.histN) >= len(c.hist) {
		return
	}
	c.histSeen |= bit
	letter := histLetters[i%uint(len(histLetters))]
	if d == FromServer && letter >= 'A' && letter <= 'Z' {
		letter += 'a' - 'A'
	}
	c.hist[c.histN] = letter
	c.histN++
}
