package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Class is what the capture program decides about a packet before the user
// filter runs.
type Class uint8

const (
	// NonTCP packets are dropped (counted in Counters.NonTCP) unless
	// Config.AllowNonTCP / Matcher.AllowNonTCP is set. This includes
	// frames too short for the headers they announce, non-IP ethertypes
	// (ARP, MPLS, PPPoE, ...), IP protocols other than TCP, and IPv6
	// whose header chain ends in something other than TCP.
	NonTCP Class = iota
	// TCP packets have a complete IP and TCP header: Packet.Key and
	// Packet.HeaderLen are valid and the flow can be bypassed.
	TCP
	// MaybeTCP packets go on to the filter and to userspace but have no
	// flow key, so they are never cut: IPv4/IPv6 fragments of TCP (also
	// the first one, which userspace needs whole to reassemble), TCP
	// headers cut short, more than MaxVLANs VLAN tags, IPv6
	// extension-header chains longer than maxIPv6Ext, tunnels the
	// program does not open (tunnel.go).
	MaybeTCP
)

func (c Class) String() string {
	switch c {
	case NonTCP:
		return "non-TCP"
	case TCP:
		return "TCP"
	case MaybeTCP:
		return "maybe-TCP"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// MaxVLANs is the number of VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
// 0x9100) a flow key holds, outermost first; it equals
// reassembly.MaxVLANs. A packet with more tags is MaybeTCP.
const MaxVLANs = 4

// maxIPv6Ext is the number of IPv6 extension headers (hop-by-hop, routing,
// destination options, fragment, AH) walked before giving up (MaybeTCP).
const maxIPv6Ext = 4

const (
	flowKeySize = 48
	keySrc      = 0
	keyDst      = 16
	keySrcPort  = 32
	keyDstPort  = 34
	keyVLANs    = 36
	keyNVLANs   = 44
)

// FlowKey identifies one direction of a TCP flow in the kernel's bypass
// map. Addresses are 16 bytes in network order, IPv4 as IPv4-mapped IPv6
// (::ffff:a.b.c.d, like reassembly.Endpoint); ports and VLAN ids are plain
// numbers. Its memory image is the map key (48 bytes, ports and VLAN ids in
// host byte order).
type FlowKey struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	// VLANs holds the 12-bit VLAN ids, outermost first (the tag the
	// kernel strips into skb metadata counts as the outermost); unused
	// entries are 0.
	VLANs  [MaxVLANs]uint16
	NVLANs uint8
	_      [3]uint8
}

// NewFlowKey builds the key of the direction src -> dst. At most MaxVLANs
// VLAN ids are used (a flow with more tags is never bypassed).
func NewFlowKey(src, dst netip.AddrPort, vlans ...uint16) FlowKey {
	var k FlowKey
	k.Src = src.Addr().As16()
	k.Dst = dst.Addr().As16()
	k.SrcPort, k.DstPort = src.Port(), dst.Port()
	for i, v := range vlans {
		if i == MaxVLANs {
			break
		}
		k.VLANs[i] = v & 0x0fff
		k.NVLANs++
	}
	return k
}

// Reverse returns the key of the opposite direction.
func (k FlowKey) Reverse() FlowKey {
	k.Src, k.Dst = k.Dst, k.Src
	k.SrcPort, k.DstPort = k.DstPort, k.SrcPort
	return k
}

// SrcAddrPort returns the source as a netip.AddrPort (IPv4 unmapped).
func (k FlowKey) SrcAddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(k.Src).Unmap(), k.SrcPort)
}

// DstAddrPort returns the destination as a netip.AddrPort (IPv4 unmapped).
func (k FlowKey) DstAddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(k.Dst).Unmap(), k.DstPort)
}

func (k FlowKey) String() string {
	s := k.SrcAddrPort().String() + " > " + k.DstAddrPort().String()
	for i := 0; i < int(k.NVLANs) && i < MaxVLANs; i++ {
		s += fmt.Sprintf(" vlan %d", k.VLANs[i])
	}
	return s
}

// bytes returns the map key image (host byte order for the integers, as
// the kernel program stores LD_ABS/LD_IND results).
func (k *FlowKey) bytes() [flowKeySize]byte {
	var b [flowKeySize]byte
	ne := binary.NativeEndian
	copy(b[keySrc:], k.Src[:])
	copy(b[keyDst:], k.Dst[:])
	ne.PutUint16(b[keySrcPort:], k.SrcPort)
	ne.PutUint16(b[keyDstPort:], k.DstPort)
	for i, v := range k.VLANs {
		ne.PutUint16(b[keyVLANs+2*i:], v)
	}
	b[keyNVLANs] = k.NVLANs
	return b
}

// Packet is the result of Inspect.
type Packet struct {
	Class Class
	// Key is the flow key of the packet's direction (Class TCP only).
	Key FlowKey
	// HeaderLen is the length from the start of the frame to the end of
	// the TCP header including options (Class TCP only): what the kernel
	// keeps of a packet of a bypassed flow. It can exceed the captured
	// length when the TCP options are cut.
	HeaderLen int
	// ports: Key's ports are the TCP header's though the packet is not
	// keyed (VLAN tags inside a tunnel): the fanout hash uses them.
	ports bool
}

func isTPID(et uint16) bool { return et == 0x8100 || et == 0x88a8 || et == 0x9100 }

func isIPv6Ext(nh uint8) bool {
	switch nh {
	case 0, 43, 44, 51, 60:
		return true
	}
	return false
}

// Inspect classifies a frame the way the kernel program does (the frame as
// userspace sees it: with every VLAN tag in the packet data). linkType is a
// DLT_ value; the kernel program handles DLTEN10MB and DLTRaw, Inspect also
// the other DLT* constants of this package for saved files. An unsupported
// link type gives NonTCP.
func Inspect(pkt []byte, linkType int) Packet {
	var p Packet
	switch normLinkType(linkType) {
	case DLTEN10MB:
		inspectL2(pkt, 12, 14, &p)
	case DLTLinuxSLL:
		inspectL2(pkt, 14, 16, &p)
	case DLTLinuxSLL2:
		inspectL2(pkt, 0, 20, &p)
	case DLTRaw:
		if len(pkt) >= 1 {
			switch pkt[0] >> 4 {
			case 4:
				inspectIPv4(pkt, 0, 0, &p)
			case 6:
				inspectIPv6(pkt, 0, 0, &p)
			}
		}
	case DLTIPv4:
		inspectIPv4(pkt, 0, 0, &p)
	case DLTIPv6:
		inspectIPv6(pkt, 0, 0, &p)
	case DLTNull, DLTLoop:
		if len(pkt) < 4 {
			return p
		}
		// The family is in the writer's byte order (DLT_NULL) or in
		// network order (DLT_LOOP); accept either.
		for _, fam := range [2]uint32{binary.LittleEndian.Uint32(pkt), binary.BigEndian.Uint32(pkt)} {
			switch fam {
			case 2:
				inspectIPv4(pkt, 4, 0, &p)
				return p
			case 10, 24, 28, 30: // AF_INET6 on Linux, BSDs, FreeBSD, Darwin
				inspectIPv6(pkt, 4, 0, &p)
				return p
			}
		}
	}
	return p
}

// inspectL2 walks an ethertype at etOff whose payload starts at dataOff,
// then the VLAN tags that follow.
func inspectL2(pkt []byte, etOff, dataOff int, p *Packet) {
	n := 0
	for {
		if len(pkt) < etOff+2 {
			return
		}
		et := binary.BigEndian.Uint16(pkt[etOff:])
		if !isTPID(et) {
			p.Key.NVLANs = uint8(n)
			switch et {
			case 0x0800:
				inspectIPv4(pkt, dataOff, 0, p)
			case 0x86dd:
				inspectIPv6(pkt, dataOff, 0, p)
			case 0x8847, 0x8848:
				inspectMPLS(pkt, dataOff, p)
			case 0x8864:
				inspectPPPoE(pkt, dataOff, p)
			}
			return
		}
		if n == MaxVLANs {
			p.Class = MaybeTCP
			return
		}
		if len(pkt) < dataOff+2 {
			return
		}
		p.Key.VLANs[n] = binary.BigEndian.Uint16(pkt[dataOff:]) & 0x0fff
		n++
		etOff, dataOff = dataOff+2, dataOff+4
	}
}

// inspectIPv4 walks an IPv4 header at off, inside lvl tunnels.
func inspectIPv4(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+20 || pkt[off]>>4 != 4 {
		return
	}
	ihl := int(pkt[off]&0x0f) * 4
	proto := pkt[off+9]
	if ihl < 20 || (proto != 6 && !isCarrier(proto)) {
		return
	}
	if binary.BigEndian.Uint16(pkt[off+6:])&0x3fff != 0 { // MF or offset
		p.Class = MaybeTCP
		return
	}
	p.Key.Src, p.Key.Dst = [16]byte{}, [16]byte{} // an outer IPv6 header wrote them
	p.Key.Src[10], p.Key.Src[11] = 0xff, 0xff
	p.Key.Dst[10], p.Key.Dst[11] = 0xff, 0xff
	copy(p.Key.Src[12:], pkt[off+12:off+16])
	copy(p.Key.Dst[12:], pkt[off+16:off+20])
	if proto != 6 {
		inspectCarrier(proto, pkt, off+ihl, lvl, p)
		return
	}
	inspectTCP(pkt, off+ihl, p)
}

// inspectIPv6 walks an IPv6 header and its extension headers at off,
// inside lvl tunnels.
func inspectIPv6(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+40 || pkt[off]>>4 != 6 {
		return
	}
	copy(p.Key.Src[:], pkt[off+8:off+24])
	copy(p.Key.Dst[:], pkt[off+24:off+40])
	nh := pkt[off+6]
	off += 40
	for i := 0; i < maxIPv6Ext; i++ {
		if nh == 6 {
			break
		}
		if !isIPv6Ext(nh) {
			if isCarrier(nh) {
				inspectCarrier(nh, pkt, off, lvl, p)
			}
			return
		}
		if len(pkt) < off+8 {
			return
		}
		next := pkt[off]
		switch nh {
		case 44: // fragment
			if binary.BigEndian.Uint16(pkt[off+2:])&0xfff9 != 0 { // offset or M
				p.Class = MaybeTCP
				return
			}
			off += 8
		case 51: // AH: length in 4-byte units minus 2
			off += (int(pkt[off+1]) + 2) * 4
		default: // hop-by-hop, routing, destination options
			off += (int(pkt[off+1]) + 1) * 8
		}
		nh = next
	}
	switch {
	case nh == 6:
		inspectTCP(pkt, off, p)
	case isIPv6Ext(nh):
		p.Class = MaybeTCP
	case isCarrier(nh):
		inspectCarrier(nh, pkt, off, lvl, p)
	}
}

func inspectTCP(pkt []byte, off int, p *Packet) {
	if len(pkt) < off+20 {
		p.Class = MaybeTCP
		return
	}
	p.Key.SrcPort = binary.BigEndian.Uint16(pkt[off:])
	p.Key.DstPort = binary.BigEndian.Uint16(pkt[off+2:])
	doff := int(pkt[off+12]>>4) * 4
	if doff < 20 {
		doff = 20
	}
	p.HeaderLen = off + doff
	p.Class = TCP
}
