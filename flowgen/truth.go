package flowgen

import "net/netip"

// Gap is a hole in a stream: bytes the endpoints exchanged (and ACKed) but
// the capture missed.
type Gap struct {
	Offset uint64 `json:"offset"` // stream offset of the first missing byte
	Len    uint64 `json:"len"`
}

// Stream is what a reassembler should deliver for one direction of a
// connection.
type Stream struct {
	// Data are the delivered bytes in order, gaps removed (nil when
	// Config.DigestOnly is set).
	Data []byte
	// Gaps are the holes, in order, at stream offsets (offsets count the
	// missing bytes too). Adjacent holes are merged into one.
	Gaps []Gap
	// SHA256 is the digest of the delivered bytes (of Data).
	SHA256 [32]byte
	// Delivered is the number of delivered bytes (len(Data)).
	Delivered uint64
	// Total is the stream offset reached: Delivered plus the gaps' bytes.
	Total uint64
	// Unseen is set for the direction a one-sided capture misses: no packet
	// of it was captured, so nothing of it can be delivered. (The captured
	// side's ACKs still tell how far it went: a reassembler may report
	// that as a gap, or as nothing.)
	Unseen bool
}

// Impairments counts what was done to a connection's segments.
type Impairments struct {
	Reordered   int `json:"reordered,omitempty"`    // segments swapped with the next one
	Duplicated  int `json:"duplicated,omitempty"`   // segments captured twice
	OverlapSame int `json:"overlap_same,omitempty"` // overlapping copies with the same bytes
	OverlapDiff int `json:"overlap_diff,omitempty"` // later overlapping copies with different bytes
	Lost        int `json:"lost,omitempty"`         // segments lost and retransmitted
	CaptureLost int `json:"capture_lost,omitempty"` // segments missing from the capture only
	Tiny        int `json:"tiny,omitempty"`         // segments of 1 to 8 bytes
	Oversize    int `json:"oversize,omitempty"`     // segments above the MSS
}

// Any reports whether any segment was impaired (Tiny and Oversize aside).
func (m Impairments) Any() bool {
	return m.Reordered+m.Duplicated+m.OverlapSame+m.OverlapDiff+m.Lost+m.CaptureLost > 0
}

// How a connection ends.
const (
	EndFIN  = "fin"  // FIN from both sides, each ACKed
	EndRST  = "rst"  // a RST from one side, at a message boundary
	EndOpen = "open" // no close in the capture
)

// Conn is the truth about one connection.
type Conn struct {
	// Client sent the SYN; Server answered it.
	Client, Server netip.AddrPort
	// VLAN is the 802.1Q id of every packet of the connection (0: none),
	// or of the client's packets when RespVLANSet (Config.AsymVLAN).
	VLAN uint16
	// RespVLAN is the server's packets' id (0: untagged) when RespVLANSet.
	RespVLAN    uint16
	RespVLANSet bool
	// ISN are the initial sequence numbers of the client and the server.
	ISN [2]uint32
	// Start and End are the capture times (Unix ns) of the connection's
	// first and last captured packets; Packets counts its captured packets.
	Start, End int64
	Packets    int
	// Midstream is set when the capture misses the connection's first
	// packets (the handshake at least): each stream then starts at the
	// first byte its sender sent after the cut, and the first captured
	// packet is a data segment with ACK.
	Midstream bool
	// OneSided is set when only the packets of direction OneSidedDir are
	// captured; the other direction's stream is empty.
	OneSided    bool
	OneSidedDir int
	// Wrap is set when the ISNs were chosen just below 2^32.
	Wrap bool
	// Reused is set when an earlier connection of the capture used the
	// same 4-tuple (and VLAN) and closed with FIN.
	Reused bool
	// EndsWith is EndFIN, EndRST or EndOpen. RSTBy is the direction
	// that sent the RST.
	EndsWith string
	RSTBy    int
	// Impairments counts what was done to the connection's segments.
	Impairments Impairments
	// Streams are the expected streams: [0] client to server, [1] server to
	// client.
	Streams [2]Stream

	seed uint64    // makes the payload bytes
	base [2]uint64 // sender's offset (from ISN+1) of each stream's offset 0
}

// IPv6 reports whether the connection runs over IPv6.
func (c *Conn) IPv6() bool { return c.Client.Addr().Is6() }
