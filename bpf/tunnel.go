package bpf

import "encoding/binary"

// Tunnels in the kernel program (and in Inspect, which mirrors it line for
// line). The program opens up to MaxTunnels encapsulations to find the
// innermost TCP header, whose addresses and ports then make the flow key
// and whose end the header length: so inner non-TCP traffic is dropped in
// the kernel and inner flows can be bypassed. What it opens: IP in IP
// (protocols 4 and 41), GRE (version 0, checksum/key/sequence fields)
// carrying IPv4, IPv6, Ethernet (0x6558), ERSPAN I/II (0x88be) or ERSPAN
// III (0x22eb, Ethernet or IP frames); on UDP, either port, in the
// userspace decoder's order: 4789 VXLAN, 6081 GENEVE, 2152 GTP-U (up to 2
// extension headers), 4754 GRE in UDP, 3544 Teredo, 5072 AYIYA, and
// Teredo on any other port (authentication and origin indication
// headers, IPv6 that ends where the datagram does); and, right after the
// outer Ethernet header, MPLS (up to 4 labels; IPv4, IPv6, or Ethernet
// with or without the pseudowire control word after the bottom label) and
// PPPoE sessions. Everything else that may hide TCP goes to the filter and
// userspace without a flow key (MaybeTCP, never cut): a deeper chain, GTP-U
// with more extension headers, inner Ethernet frames with VLAN tags
// (walked, but not keyed), MPLS or PPPoE inside a tunnel, GRE or GENEVE
// payloads of other types, Teredo whose datagram end is unknown or lies
// past its IPv6 packet (see emitTeredo).
// Headers that fail a check the userspace decoder also makes (GRE routing
// bits, VXLAN without its I flag, GENEVE version, GTP version/type,
// Teredo and AYIYA framing, UDP that is not Teredo) are dropped as NonTCP,
// as are frames cut inside a tunnel header.
//
// The flow key is the innermost one without tunnel ids: a bypass made for
// a connection under --tunnel-key also applies to the same inner 4-tuple
// in another tunnel (only its payload stops being captured).

// MaxTunnels is how many encapsulations the kernel program opens.
const MaxTunnels = 3

// maxMPLSLabels is the longest MPLS label stack the kernel program walks.
const maxMPLSLabels = 4

// maxGTPExt is how many GTP-U extension headers the kernel program walks.
const maxGTPExt = 2

// isCarrier reports whether an IP protocol may carry a tunnel.
func isCarrier(proto uint8) bool { return proto == 4 || proto == 41 || proto == 47 || proto == 17 }

// inspectCarrier opens the tunnel of IP protocol proto at off; lvl
// tunnels are open already.
func inspectCarrier(proto uint8, pkt []byte, off, lvl int, p *Packet) {
	if lvl == MaxTunnels {
		p.Class = MaybeTCP
		return
	}
	switch proto {
	case 4:
		inspectIPv4(pkt, off, lvl+1, p)
	case 41:
		inspectIPv6(pkt, off, lvl+1, p)
	case 47:
		inspectGRE(pkt, off, lvl, p)
	case 17:
		inspectUDP(pkt, off, lvl, p)
	}
}

func inspectGRE(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+4 {
		return
	}
	flags := binary.BigEndian.Uint16(pkt[off:])
	proto := binary.BigEndian.Uint16(pkt[off+2:])
	if flags&7 != 0 || flags&0x4f00 != 0 {
		return // PPTP; routing, strict source route, recursion
	}
	hl := 4
	for _, f := range [3]uint16{0x8000, 0x2000, 0x1000} {
		if flags&f != 0 {
			hl += 4
		}
	}
	off += hl
	if len(pkt) < off {
		return
	}
	switch proto {
	case 0x0800:
		inspectIPv4(pkt, off, lvl+1, p)
	case 0x86dd:
		inspectIPv6(pkt, off, lvl+1, p)
	case 0x6558:
		inspectInnerEther(pkt, off, lvl+1, p)
	case 0x88be:
		if flags&0x1000 == 0 { // ERSPAN I: the frame follows
			inspectInnerEther(pkt, off, lvl+1, p)
			return
		}
		if len(pkt) < off+8 || pkt[off]>>4 != 1 {
			return
		}
		inspectInnerEther(pkt, off+8, lvl+1, p)
	case 0x22eb: // ERSPAN III
		if len(pkt) < off+12 || pkt[off]>>4 != 2 {
			return
		}
		ft := pkt[off+10] >> 2 & 0x1f
		sub := pkt[off+11]&1 != 0
		off += 12
		if sub {
			off += 8
			if len(pkt) < off {
				return
			}
		}
		switch ft {
		case 0:
			inspectInnerEther(pkt, off, lvl+1, p)
		case 2:
			inspectIPByVersion(pkt, off, lvl+1, p)
		}
	default:
		p.Class = MaybeTCP
	}
}

func inspectIPByVersion(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+1 {
		return
	}
	switch pkt[off] >> 4 {
	case 4:
		inspectIPv4(pkt, off, lvl, p)
	case 6:
		inspectIPv6(pkt, off, lvl, p)
	}
}

func inspectUDP(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+8 {
		return
	}
	sp := binary.BigEndian.Uint16(pkt[off:])
	dp := binary.BigEndian.Uint16(pkt[off+2:])
	off += 8
	either := func(port uint16) bool { return sp == port || dp == port }
	switch {
	case either(4789): // VXLAN
		if len(pkt) < off+8 || pkt[off]&0x08 == 0 {
			return
		}
		inspectInnerEther(pkt, off+8, lvl+1, p)
	case either(6081): // GENEVE
		if len(pkt) < off+8 || pkt[off]>>6 != 0 {
			return
		}
		proto := binary.BigEndian.Uint16(pkt[off+2:])
		off += 8 + int(pkt[off]&0x3f)*4
		if len(pkt) < off {
			return
		}
		switch proto {
		case 0x6558:
			inspectInnerEther(pkt, off, lvl+1, p)
		case 0x0800:
			inspectIPv4(pkt, off, lvl+1, p)
		case 0x86dd:
			inspectIPv6(pkt, off, lvl+1, p)
		default:
			p.Class = MaybeTCP
		}
	case either(2152): // GTP-U
		if len(pkt) < off+8 {
			return
		}
		fl := pkt[off]
		if fl>>5 != 1 || fl&0x10 == 0 || pkt[off+1] != 0xff {
			return
		}
		if fl&7 == 0 {
			off += 8
		} else {
			// optional fields, then up to maxGTPExt extension headers
			if len(pkt) < off+12 {
				return
			}
			next := pkt[off+11]
			off += 12
			for i := 0; next != 0; i++ {
				if i == maxGTPExt {
					p.Class = MaybeTCP
					return
				}
				if len(pkt) < off+1 {
					return
				}
				n := int(pkt[off]) * 4
				if n == 0 {
					return
				}
				off += n
				if len(pkt) < off {
					return
				}
				next = pkt[off-1]
			}
		}
		inspectIPByVersion(pkt, off, lvl+1, p)
	case either(4754): // GRE in UDP
		inspectGRE(pkt, off, lvl, p)
	case either(3544):
		inspectTeredo(pkt, off, lvl, p)
	case either(5072):
		inspectAYIYA(pkt, off, lvl, p)
	default: // Teredo relays use any port
		inspectTeredo(pkt, off, lvl, p)
	}
}

// inspectTeredo: Teredo at off, the UDP payload (program_tunnel.go's
// emitTeredo says why a datagram whose end is unknown, or longer than
// its IPv6 packet, is MaybeTCP).
func inspectTeredo(pkt []byte, off, lvl int, p *Packet) {
	end := -1 // unknown
	if n := int(binary.BigEndian.Uint16(pkt[off-4:])); n >= 8 && off-8+n <= len(pkt) {
		end = off - 8 + n
	}
	if len(pkt) < off+1 {
		return
	}
	if pkt[off]>>4 != 6 {
		if pkt[off] != 0 || len(pkt) < off+2 {
			return
		}
		if pkt[off+1] == 1 { // authentication
			if len(pkt) < off+4 {
				return
			}
			off += 13 + int(pkt[off+2]) + int(pkt[off+3])
			if len(pkt) < off+1 {
				return
			}
			if pkt[off]>>4 == 6 {
				goto v6
			}
			if pkt[off] != 0 || len(pkt) < off+2 {
				return
			}
		}
		if pkt[off+1] != 0 {
			return
		}
		off += 8 // origin indication
		if len(pkt) < off+1 || pkt[off]>>4 != 6 {
			return
		}
	}
v6:
	if len(pkt) < off+40 {
		return
	}
	switch v6end := off + 40 + int(binary.BigEndian.Uint16(pkt[off+4:])); {
	case end < 0:
		p.Class = MaybeTCP
	case v6end == end:
		inspectIPv6(pkt, off, lvl+1, p)
	case v6end < end:
		p.Class = MaybeTCP
	}
}

// inspectAYIYA: AYIYA at off, the UDP payload.
func inspectAYIYA(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+8 {
		return
	}
	n := 8 + 1<<(pkt[off]>>4) + int(pkt[off+1]>>4)*4
	nh := pkt[off+3]
	if pkt[off+2]&0x0f != 1 || len(pkt) < off+n {
		return
	}
	switch nh {
	case 4:
		inspectIPv4(pkt, off+n, lvl+1, p)
	case 41:
		inspectIPv6(pkt, off+n, lvl+1, p)
	}
}

// inspectInnerEther walks an Ethernet frame inside a tunnel. Its VLAN tags
// are not keyed: a tagged frame's TCP is MaybeTCP (its ports still count
// for the fanout hash).
func inspectInnerEther(pkt []byte, off, lvl int, p *Packet) {
	if len(pkt) < off+14 {
		return
	}
	et := binary.BigEndian.Uint16(pkt[off+12:])
	off += 14
	tagged := false
	for i := 0; i < MaxVLANs && isTPID(et); i++ {
		if len(pkt) < off+4 {
			return
		}
		tagged = true
		et = binary.BigEndian.Uint16(pkt[off+2:])
		off += 4
	}
	switch et {
	case 0x0800:
		inspectIPv4(pkt, off, lvl, p)
	case 0x86dd:
		inspectIPv6(pkt, off, lvl, p)
	case 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864:
		p.Class = MaybeTCP
	}
	if tagged && p.Class == TCP {
		p.Class, p.HeaderLen, p.ports = MaybeTCP, 0, true
	}
}

// inspectMPLS walks a label stack right after the outer Ethernet header.
func inspectMPLS(pkt []byte, off int, p *Packet) {
	var v uint32
	for i := 0; ; i++ {
		if i == maxMPLSLabels {
			p.Class = MaybeTCP
			return
		}
		if len(pkt) < off+4 {
			return
		}
		v = binary.BigEndian.Uint32(pkt[off:])
		off += 4
		if v&0x100 != 0 {
			break
		}
	}
	switch v >> 12 {
	case 0:
		inspectIPv4(pkt, off, 1, p)
		return
	case 2:
		inspectIPv6(pkt, off, 1, p)
		return
	}
	if len(pkt) < off+1 {
		return
	}
	switch pkt[off] >> 4 {
	case 4:
		inspectIPv4(pkt, off, 1, p)
	case 6:
		inspectIPv6(pkt, off, 1, p)
	case 0: // a control word, unless the bytes read better as Ethernet
		if len(pkt) >= off+14 && isKnownEtherType(pkt[off+12:]) && (len(pkt) < off+18 || !isKnownEtherType(pkt[off+16:])) {
			inspectInnerEther(pkt, off, 1, p)
			return
		}
		inspectInnerEther(pkt, off+4, 1, p)
	default: // Ethernet over MPLS without a control word
		inspectInnerEther(pkt, off, 1, p)
	}
}

// knownEtherTypes are the EtherTypes the userspace decoder follows: what
// tells Ethernet over MPLS with a control word from one without.
func knownEtherTypes() [8]uint16 {
	return [8]uint16{0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864}
}

func isKnownEtherType(b []byte) bool {
	et := binary.BigEndian.Uint16(b)
	for _, k := range knownEtherTypes() {
		if et == k {
			return true
		}
	}
	return false
}

// inspectPPPoE walks a PPPoE session header right after the outer
// Ethernet header.
func inspectPPPoE(pkt []byte, off int, p *Packet) {
	if len(pkt) < off+8 || pkt[off] != 0x11 || pkt[off+1] != 0 {
		return
	}
	proto := uint16(pkt[off+6])
	if proto&1 == 1 {
		off += 7 // compressed protocol field
	} else {
		proto = binary.BigEndian.Uint16(pkt[off+6:])
		off += 8
	}
	switch proto {
	case 0x21:
		inspectIPv4(pkt, off, 1, p)
	case 0x57:
		inspectIPv6(pkt, off, 1, p)
	}
}
