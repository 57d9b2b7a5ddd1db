package reassembly

import (
	"net/netip"
	"time"
)

// Flags are the TCP header flags, bit for bit as on the wire (byte 13),
// plus NS in bit 8.
type Flags uint16

// TCP flag bits.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// Has reports whether every bit of f2 is set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// String renders the flags tcpdump-style, e.g. "S." for SYN+ACK.
func (f Flags) String() string {
	var b [9]byte
	n := 0
	for _, x := range [...]struct {
		f Flags
		c byte
	}{{SYN, 'S'}, {FIN, 'F'}, {PSH, 'P'}, {RST, 'R'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {NS, 'N'}, {ACK, '.'}} {
		if f&x.f != 0 {
			b[n] = x.c
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

// MaxVLANs is how many 802.1Q/802.1ad tags a flow key holds. Deeper tags
// are ignored for keying (the decoder still walks past them).
const MaxVLANs = 4

// VLANs is the stack of VLAN ids a packet carried, outermost first.
type VLANs struct {
	IDs [MaxVLANs]uint16
	N   uint8
}

// Push appends a VLAN id (the lower 12 bits of a TCI); ids past MaxVLANs
// are dropped.
func (v *VLANs) Push(id uint16) {
	if int(v.N) < MaxVLANs {
		v.IDs[v.N] = id & 0x0fff
		v.N++
	}
}

// Slice returns the ids as a slice (a copy; allocates only if N > 0).
func (v VLANs) Slice() []uint16 {
	if v.N == 0 {
		return nil
	}
	out := make([]uint16, v.N)
	copy(out, v.IDs[:v.N])
	return out
}

// Segment is one decoded TCP segment. The decoder fills it in place; the
// Table reads it during Feed and keeps nothing that points into it, so
// Payload may be reused as soon as Feed returns.
type Segment struct {
	// TS is the capture time in Unix nanoseconds.
	TS int64
	// Src and Dst are IPv4 addresses as IPv4-mapped IPv6 (::ffff:a.b.c.d)
	// when V6 is false.
	Src, Dst         [16]byte
	V6               bool
	SrcPort, DstPort uint16
	VLANs            VLANs
	Seq, Ack         Seq
	Flags            Flags
	Window           uint16
	// WScale is the window-scale option of a SYN, or -1.
	WScale int8
	Urgent uint16
	// Payload is the captured TCP payload, borrowed for the call.
	Payload []byte
	// Truncated counts payload bytes the packet carried on the wire but the
	// capture cut off (snap length). They are reported as a gap.
	Truncated int
	// Stable promises that Payload stays valid and unchanged until the
	// Table is flushed (a memory-mapped capture file): bytes that must wait
	// for their ACK are then kept by reference instead of copied. The
	// Table never writes into a stable payload.
	Stable bool
	// Lease, when not 0, promises that Payload stays valid and unchanged
	// until the caller calls Table.EndLease(Lease): bytes that must wait
	// for their ACK are kept by reference until then, and EndLease copies
	// those still waiting. A capture engine reading into a few recycled
	// buffers gives each buffer a lease and ends it before reusing the
	// buffer: payload acknowledged in the meantime is never copied.
	Lease uint32
	// Tunnel, when not 0, identifies the encapsulation the segment came
	// through (a hash of its layers and their ids, see decode.Chain) and
	// is part of the flow key: the same inner addresses in two tunnels
	// are two connections. The decoder leaves it 0 unless asked to key by
	// tunnel.
	Tunnel uint32
}

func (s *Segment) lease() uint32 {
	if s.Stable {
		return leaseForever
	}
	return s.Lease
}

// SetAddrs fills Src, Dst and V6 from netip addresses (a convenience for
// tests and tools; decoders write the arrays directly).
func (s *Segment) SetAddrs(src, dst netip.Addr) {
	s.Src = src.As16()
	s.Dst = dst.As16()
	s.V6 = !src.Unmap().Is4()
}

// Time returns TS as a time.Time.
func (s *Segment) Time() time.Time { return time.Unix(0, s.TS) }
