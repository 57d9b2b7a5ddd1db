package bpf

import (
	"encoding/binary"
	"net/netip"
)

// Test packet builder.

type tag struct {
	tpid uint16
	tci  uint16
}

var (
	testMAC1 = []byte{0x02, 0, 0, 0, 0, 1}
	testMAC2 = []byte{0x02, 0, 0, 0, 0, 2}
)

// ether builds dst, src, tags, ethertype, payload.
func ether(tags []tag, et uint16, payload []byte) []byte {
	b := append([]byte{}, testMAC2...)
	b = append(b, testMAC1...)
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t.tpid)
		b = binary.BigEndian.AppendUint16(b, t.tci)
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, payload...)
}

type tcpSpec struct {
	src, dst     netip.AddrPort
	flags        byte
	seq          uint32
	optWords     int // TCP options, 4-byte words
	payload      []byte
	ipOptWords   int    // IPv4 options, 4-byte words
	fragField    uint16 // IPv4 flags+offset
	proto        byte   // 0 = TCP
	ext          []ext6 // IPv6 extension headers
	tcpTruncated int    // cut this many bytes from the end of the TCP header
	zeroWin      bool   // window 0 instead of 65535
}

type ext6 struct {
	nh   byte // this header's type (the previous header's next header)
	body []byte
}

func (s tcpSpec) tcp() []byte {
	doff := 5 + s.optWords
	h := make([]byte, doff*4)
	binary.BigEndian.PutUint16(h[0:], s.src.Port())
	binary.BigEndian.PutUint16(h[2:], s.dst.Port())
	binary.BigEndian.PutUint32(h[4:], s.seq)
	h[12] = byte(doff << 4)
	h[13] = s.flags
	if !s.zeroWin {
		binary.BigEndian.PutUint16(h[14:], 65535)
	}
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	h = h[:len(h)-s.tcpTruncated]
	if s.tcpTruncated > 0 {
		return h
	}
	return append(h, s.payload...)
}

// ipv4 returns the IPv4 packet of s.
func (s tcpSpec) ipv4() []byte {
	l4 := s.tcp()
	ihl := 5 + s.ipOptWords
	h := make([]byte, ihl*4)
	h[0] = byte(0x40 | ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(l4)))
	binary.BigEndian.PutUint16(h[6:], s.fragField)
	h[8] = 64
	h[9] = 6
	if s.proto != 0 {
		h[9] = s.proto
	}
	src, dst := s.src.Addr().As4(), s.dst.Addr().As4()
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	for i := 20; i < len(h); i++ {
		h[i] = 1
	}
	return append(h, l4...)
}

// ipv6 returns the IPv6 packet of s.
func (s tcpSpec) ipv6() []byte {
	l4 := s.tcp()
	var exts []byte
	last := byte(6)
	if s.proto != 0 {
		last = s.proto
	}
	for i, x := range s.ext {
		next := last
		if i+1 < len(s.ext) {
			next = s.ext[i+1].nh
		}
		b := append([]byte{next}, x.body...)
		exts = append(exts, b...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(exts)+len(l4)))
	h[6] = last
	if len(s.ext) > 0 {
		h[6] = s.ext[0].nh
	}
	h[7] = 64
	src, dst := s.src.Addr().As16(), s.dst.Addr().As16()
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
	return append(append(h, exts...), l4...)
}

// Extension header bodies (without the next-header byte).
func hbh8() ext6 { return ext6{0, []byte{0, 1, 4, 0, 0, 0, 0}} } // hdr len 0: 8 bytes, PadN
func dst16() ext6 {
	return ext6{60, []byte{1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} // 16 bytes
}
func frag6(offset uint16, more bool) ext6 {
	fo := offset << 3
	if more {
		fo |= 1
	}
	return ext6{44, []byte{0, byte(fo >> 8), byte(fo), 0, 0, 0, 1}}
}
func ah12() ext6 { return ext6{51, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} } // (1+2)*4 = 12 bytes

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
