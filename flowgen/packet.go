package flowgen

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"time"
)

// TCP flag bits, as in byte 13 of the TCP header.
const (
	FIN uint8 = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// maxSegment is the largest payload an IPv4 packet can carry with a plain
// 20-byte TCP header (65535 - 20 - 20).
const maxSegment = 65535 - 40

// Packet is one captured TCP segment.
type Packet struct {
	TS       int64 // capture time, Unix nanoseconds
	Src, Dst netip.AddrPort
	VLAN     uint16 // 802.1Q VLAN id; 0 means untagged
	Seq, Ack uint32
	Flags    uint8 // FIN, SYN, RST, PSH, ACK... as in the TCP header
	Window   uint16
	Payload  []byte

	Conn int // index of the connection in Capture.Conns
	Dir  int // 0: client to server, 1: server to client

	// Encap and EncapID wrap the frame in a tunnel (Config.Encap).
	Encap   Encap
	EncapID uint32
}

// Time returns TS as a time.Time.
func (p *Packet) Time() time.Time { return time.Unix(0, p.TS) }

// FrameLen returns the length of the frame AppendFrame writes.
func (p *Packet) FrameLen() int {
	if p.Encap == EncapNone {
		return p.plainLen()
	}
	return p.encapLen(p.plainLen(), p.ethLen())
}

// ethLen is the length of the plain frame's Ethernet header and tag.
func (p *Packet) ethLen() int {
	if p.VLAN != 0 {
		return 18
	}
	return 14
}

func (p *Packet) plainLen() int {
	n := 14 + 20 + len(p.Payload)
	if p.VLAN != 0 {
		n += 4
	}
	if p.Src.Addr().Is4() {
		n += 20
	} else {
		n += 40
	}
	if p.Flags&SYN != 0 {
		n += 4 // MSS option
	}
	return n
}

// AppendFrame appends the packet as an Ethernet frame (with an 802.1Q tag
// when VLAN is set) holding IPv4 or IPv6 and TCP, with valid IPv4 and TCP
// checksums, and returns the extended slice. SYNs carry an MSS option.
// Src and Dst must both be IPv4 or both IPv6. With Encap, the frame is
// wrapped in that tunnel (see Encap); an 802.1Q tag then goes on the
// outer Ethernet header when the tunnel carries IP only.
func (p *Packet) AppendFrame(dst []byte) []byte {
	if p.Encap == EncapNone {
		return p.appendPlain(dst)
	}
	start := len(dst)
	n, plain, eth := p.FrameLen(), p.plainLen(), p.ethLen()
	dst = grow(dst, n)
	// The plain frame goes at the end; the tunnel's headers before it
	// overwrite its Ethernet header when the tunnel carries IP only.
	at := start + n - plain
	p.appendPlain(dst[:at])
	hdr := n - plain
	var vlan uint16
	if !p.Encap.ethernet() {
		hdr += eth
		vlan = p.VLAN
	}
	p.wrap(dst[start:start+n], hdr, !p.Src.Addr().Is4(), vlan)
	return dst
}

// appendPlain appends the unwrapped frame.
func (p *Packet) appendPlain(dst []byte) []byte {
	start := len(dst)
	n := p.plainLen()
	dst = grow(dst, n)
	b := dst[start : start+n]
	v4 := p.Src.Addr().Is4()

	// Ethernet: locally administered MACs derived from the addresses.
	putMAC(b[0:6], p.Dst.Addr())
	putMAC(b[6:12], p.Src.Addr())
	i := 12
	if p.VLAN != 0 {
		binary.BigEndian.PutUint16(b[i:], 0x8100)
		binary.BigEndian.PutUint16(b[i+2:], p.VLAN&0x0fff)
		i += 4
	}
	optLen := 0
	if p.Flags&SYN != 0 {
		optLen = 4
	}
	tcpLen := 20 + optLen + len(p.Payload)
	var ip []byte
	if v4 {
		binary.BigEndian.PutUint16(b[i:], 0x0800)
		i += 2
		ip = b[i : i+20]
		ip[0] = 0x45
		ip[1] = 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
		binary.BigEndian.PutUint16(ip[4:], uint16(p.Seq>>7^p.Ack<<3^uint32(p.Src.Port())))
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
		ip[8] = 64
		ip[9] = 6
		ip[10], ip[11] = 0, 0
		s, d := p.Src.Addr().As4(), p.Dst.Addr().As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], fold(sum(ip, 0)))
		i += 20
	} else {
		binary.BigEndian.PutUint16(b[i:], 0x86dd)
		i += 2
		ip = b[i : i+40]
		binary.BigEndian.PutUint32(ip[0:], 6<<28)
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = 64
		s, d := p.Src.Addr().As16(), p.Dst.Addr().As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		i += 40
	}
	t := b[i:]
	binary.BigEndian.PutUint16(t[0:], p.Src.Port())
	binary.BigEndian.PutUint16(t[2:], p.Dst.Port())
	binary.BigEndian.PutUint32(t[4:], p.Seq)
	binary.BigEndian.PutUint32(t[8:], p.Ack)
	t[12] = byte((20+optLen)/4) << 4
	t[13] = p.Flags
	binary.BigEndian.PutUint16(t[14:], p.Window)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	if optLen > 0 {
		t[20], t[21] = 2, 4 // MSS
		mss := uint16(1460)
		if !v4 {
			mss = 1440
		}
		binary.BigEndian.PutUint16(t[22:], mss)
	}
	copy(t[20+optLen:], p.Payload)

	// Pseudo-header + TCP header + payload.
	var acc uint64
	if v4 {
		acc = sum(ip[12:20], 0)
	} else {
		acc = sum(ip[8:40], 0)
	}
	acc += 6 + uint64(tcpLen)
	acc = sum(t, acc)
	binary.BigEndian.PutUint16(t[16:], fold(acc))
	return dst
}

// grow extends b by n bytes (contents of the new bytes undefined).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func putMAC(dst []byte, a netip.Addr) {
	s := a.As16()
	dst[0], dst[1] = 0x02, 0x00
	copy(dst[2:6], s[12:16])
}

// sum adds b as big-endian 16-bit words to acc (one's complement sum,
// carries kept in the upper bits), 8 bytes at a time.
func sum(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	acc, carry = bits.Add64(acc, 0, carry)
	acc += carry
	for len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += carry
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += carry
	}
	return acc
}

// fold folds a 64-bit one's complement sum to the 16-bit checksum.
func fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return ^uint16(acc)
}
