package decode_test

import "encoding/binary"

// Packet builders for the tests: plain byte assembly, checksums computed
// here independently of the decoder's code.

type tcpSpec struct {
	sport, dport uint16
	seq, ack     uint32
	flags        byte // wire byte 13
	ns           bool
	win, urg     uint16
	opts         []byte // padded to 4 bytes
	payload      []byte
	doff         int // override data offset (words) if non-zero
}

func (t tcpSpec) bytes() []byte {
	opts := append([]byte(nil), t.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	b := make([]byte, 20+len(opts)+len(t.payload))
	binary.BigEndian.PutUint16(b[0:], t.sport)
	binary.BigEndian.PutUint16(b[2:], t.dport)
	binary.BigEndian.PutUint32(b[4:], t.seq)
	binary.BigEndian.PutUint32(b[8:], t.ack)
	doff := (20 + len(opts)) / 4
	if t.doff != 0 {
		doff = t.doff
	}
	b[12] = byte(doff << 4)
	if t.ns {
		b[12] |= 1
	}
	b[13] = t.flags
	binary.BigEndian.PutUint16(b[14:], t.win)
	binary.BigEndian.PutUint16(b[18:], t.urg)
	copy(b[20:], opts)
	copy(b[20+len(opts):], t.payload)
	return b
}

// csum is the Internet checksum of the concatenated parts (RFC 1071),
// computed one 16-bit word at a time.
func csum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// setTCPSum4 fills the TCP checksum of a segment carried over IPv4.
func setTCPSum4(src, dst [4]byte, seg []byte) {
	ph := make([]byte, 12)
	copy(ph, src[:])
	copy(ph[4:], dst[:])
	ph[9] = 6
	binary.BigEndian.PutUint16(ph[10:], uint16(len(seg)))
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], csum(ph, seg))
}

func setTCPSum6(src, dst [16]byte, seg []byte) {
	ph := make([]byte, 40)
	copy(ph, src[:])
	copy(ph[16:], dst[:])
	binary.BigEndian.PutUint32(ph[32:], uint32(len(seg)))
	ph[39] = 6
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], csum(ph, seg))
}

type ip4Spec struct {
	src, dst [4]byte
	proto    byte
	id       uint16
	ff       uint16 // flags + fragment offset (8-byte units)
	opts     []byte // multiple of 4
	totLen   int    // override total length (-1: write 0)
}

func (ip ip4Spec) bytes(payload []byte) []byte {
	hl := 20 + len(ip.opts)
	b := make([]byte, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	tot := hl + len(payload)
	if ip.totLen > 0 {
		tot = ip.totLen
	} else if ip.totLen < 0 {
		tot = 0
	}
	binary.BigEndian.PutUint16(b[2:], uint16(tot))
	binary.BigEndian.PutUint16(b[4:], ip.id)
	binary.BigEndian.PutUint16(b[6:], ip.ff)
	b[8] = 64
	b[9] = ip.proto
	copy(b[12:], ip.src[:])
	copy(b[16:], ip.dst[:])
	copy(b[20:], ip.opts)
	binary.BigEndian.PutUint16(b[10:], csum(b[:hl]))
	copy(b[hl:], payload)
	return b
}

var (
	a4 = [4]byte{192, 0, 2, 1}
	b4 = [4]byte{198, 51, 100, 7}
	a6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	b6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: 2}
)

// tcp4 is an IPv4 packet with a TCP segment, checksums right.
func tcp4(t tcpSpec) []byte {
	seg := t.bytes()
	setTCPSum4(a4, b4, seg)
	return ip4Spec{src: a4, dst: b4, proto: 6, id: 1, ff: 0x4000}.bytes(seg)
}

// ip6 builds an IPv6 packet; plen < 0 means "len(payload)".
func ip6(nh byte, plen int, payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	b[0] = 0x60
	if plen < 0 {
		plen = len(payload)
	}
	binary.BigEndian.PutUint16(b[4:], uint16(plen))
	b[6] = nh
	b[7] = 64
	copy(b[8:], a6[:])
	copy(b[24:], b6[:])
	copy(b[40:], payload)
	return b
}

// ext6 is an IPv6 extension header of the hop-by-hop/routing/destination
// kind: next header, length, and body padded to a multiple of 8 bytes.
func ext6(nh byte, body []byte) []byte {
	n := (2 + len(body) + 7) / 8 * 8
	b := make([]byte, n)
	b[0] = nh
	b[1] = byte(n/8 - 1)
	copy(b[2:], body)
	if len(body) < n-2 {
		// PadN over the rest
		rest := n - 2 - len(body)
		if rest == 1 {
			b[2+len(body)] = 0
		} else {
			b[2+len(body)] = 1
			b[3+len(body)] = byte(rest - 2)
		}
	}
	return b
}

func tcp6(t tcpSpec) []byte {
	seg := t.bytes()
	setTCPSum6(a6, b6, seg)
	return ip6(6, -1, seg)
}

// ether wraps an L3 payload in Ethernet with the given VLAN tags, each
// tpid<<16 | tci.
func ether(et uint16, l3 []byte, tags ...uint32) []byte {
	b := make([]byte, 12, 14+4*len(tags)+len(l3))
	for i := range 12 {
		b[i] = byte(i + 1)
	}
	for _, t := range tags {
		b = binary.BigEndian.AppendUint32(b, t)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, l3...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
