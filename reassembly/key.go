package reassembly

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Endpoint is one side of a connection.
type Endpoint struct {
	Addr [16]byte
	Port uint16
}

// AddrPort returns the endpoint as a netip.AddrPort (IPv4 unmapped).
func (e Endpoint) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(e.Addr).Unmap(), e.Port)
}

func (e Endpoint) less(o Endpoint) bool {
	a0, b0 := binary.BigEndian.Uint64(e.Addr[:8]), binary.BigEndian.Uint64(o.Addr[:8])
	if a0 != b0 {
		return a0 < b0
	}
	a1, b1 := binary.BigEndian.Uint64(e.Addr[8:]), binary.BigEndian.Uint64(o.Addr[8:])
	if a1 != b1 {
		return a1 < b1
	}
	return e.Port < o.Port
}

// Key identifies a connection whichever way a packet travels: the two
// endpoints in canonical order (Lo < Hi) plus the VLAN stack and the
// tunnel (Segment.Tunnel).
type Key struct {
	Lo, Hi Endpoint
	VLANs  VLANs
	Tunnel uint32
}

// equal reports whether k and o are the same key: what == says, word by
// word (the compiler's == compares the address arrays through a call).
func (k *Key) equal(o *Key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.Lo.Addr[8:]) == le.Uint64(o.Lo.Addr[8:]) &&
		le.Uint64(k.Hi.Addr[8:]) == le.Uint64(o.Hi.Addr[8:]) &&
		le.Uint64(k.Lo.Addr[:8]) == le.Uint64(o.Lo.Addr[:8]) &&
		le.Uint64(k.Hi.Addr[:8]) == le.Uint64(o.Hi.Addr[:8]) &&
		k.Lo.Port == o.Lo.Port && k.Hi.Port == o.Hi.Port && k.Tunnel == o.Tunnel && k.VLANs == o.VLANs
}

// KeyOf returns the canonical key of a segment and whether the segment
// travels from Hi to Lo. With noVLAN the VLAN ids are left out of the key.
func KeyOf(s *Segment, noVLAN bool) (k Key, fromHi bool) {
	fromHi = k.set(s, noVLAN)
	return k, fromHi
}

// set makes k the canonical key of s (as KeyOf) and returns fromHi. It
// moves the addresses as 64-bit words and orders the endpoints as less
// does, without building them first: building Endpoints and returning a
// Key by value cost about 100 instructions a packet (cachegrind), a
// twentieth of fastsniff -r on real traffic.
func (k *Key) set(s *Segment, noVLAN bool) (fromHi bool) {
	le, be := binary.LittleEndian, binary.BigEndian
	if noVLAN {
		k.VLANs = VLANs{}
	} else {
		k.VLANs = s.VLANs
	}
	k.Tunnel = s.Tunnel
	// dst before src in less's order: the addresses as big-endian
	// numbers, then the ports
	s0, d0 := be.Uint64(s.Src[:8]), be.Uint64(s.Dst[:8])
	s1, d1 := be.Uint64(s.Src[8:]), be.Uint64(s.Dst[8:])
	fromHi = d0 < s0 || d0 == s0 && (d1 < s1 || d1 == s1 && s.DstPort < s.SrcPort)
	lo, hi := &s.Src, &s.Dst
	lp, hp := s.SrcPort, s.DstPort
	if fromHi {
		lo, hi, lp, hp = hi, lo, hp, lp
	}
	le.PutUint64(k.Lo.Addr[:8], le.Uint64(lo[:8]))
	le.PutUint64(k.Lo.Addr[8:], le.Uint64(lo[8:]))
	le.PutUint64(k.Hi.Addr[:8], le.Uint64(hi[:8]))
	le.PutUint64(k.Hi.Addr[8:], le.Uint64(hi[8:]))
	k.Lo.Port, k.Hi.Port = lp, hp
	return fromHi
}

// Hash returns a hash of the key that is the same for both directions of a
// flow (the key is canonical), used to find the connection in its Table
// (see index). VLANs are compared but not hashed: the same 4-tuple on
// several VLAN stacks lands in one probe run, where a packet of a new flow
// finds the other direction of its connection arriving with other tags
// (vlanjoin.go).
func (k *Key) Hash() uint64 {
	// FNV-1a over the fields, 8 bytes at a time, then a final mix: cheap and
	// good enough to spread flows over a handful of workers, and over the
	// index's slots as well as a random hash (TestIndexOneWorkersShare).
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		h ^= v
		h *= 1099511628211
	}
	mix(binary.LittleEndian.Uint64(k.Lo.Addr[:8]))
	mix(binary.LittleEndian.Uint64(k.Lo.Addr[8:]))
	mix(binary.LittleEndian.Uint64(k.Hi.Addr[:8]))
	mix(binary.LittleEndian.Uint64(k.Hi.Addr[8:]))
	mix(uint64(k.Lo.Port)<<16 | uint64(k.Hi.Port) | uint64(k.Tunnel)<<32)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// FlowHash returns a hash of s's flow that is the same for both of its
// directions, computed from the segment directly: cheaper than
// KeyOf(s).Hash() (no canonical key to build), for spreading flows over
// workers when most segments are not kept. It is not Key.Hash. With noVLAN
// the VLAN ids are left out, as KeyOf does.
func FlowHash(s *Segment, noVLAN bool) uint64 {
	// XOR and sum are symmetric in the two endpoints
	a := binary.LittleEndian.Uint64(s.Src[:8]) ^ binary.LittleEndian.Uint64(s.Dst[:8])
	b := binary.LittleEndian.Uint64(s.Src[8:]) ^ binary.LittleEndian.Uint64(s.Dst[8:])
	p := uint64(s.SrcPort^s.DstPort) | (uint64(s.SrcPort)+uint64(s.DstPort))<<16
	h := a ^ bits.RotateLeft64(b, 29) ^ (p|uint64(s.Tunnel)<<32)*0x9e3779b97f4a7c15
	if !noVLAN {
		v := s.VLANs.IDs
		h ^= bits.RotateLeft64(uint64(v[0])|uint64(v[1])<<16|uint64(v[2])<<32|uint64(v[3])<<48, 17)
	}
	// murmur3's finalizer: every input bit reaches the low bits that pick
	// the worker
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
