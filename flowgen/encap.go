package flowgen

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Encap is an encapsulation Config.Encap wraps every packet in, so that
// the same ground truth can be checked through each tunnel type.
type Encap uint8

// Encapsulations. The tunnel endpoints are 192.0.2.1 (client side) and
// 192.0.2.2 (server side); Config.EncapID is the identifier (VNI, GRE key,
// ERSPAN session, MPLS label, PPPoE session, TEID), the same both ways.
const (
	EncapNone    Encap = iota
	EncapVXLAN         // IPv4 / UDP 4789 / VXLAN / Ethernet
	EncapGENEVE        // IPv4 / UDP 6081 / GENEVE with one 8-byte option / Ethernet
	EncapGRE           // IPv4 / GRE with key, 0x6558 / Ethernet
	EncapERSPAN2       // IPv4 / GRE with sequence, 0x88be / ERSPAN II / Ethernet
	EncapERSPAN3       // IPv4 / GRE with sequence, 0x22eb / ERSPAN III / Ethernet
	EncapMPLS          // MPLS, one label / IP
	EncapPPPoE         // PPPoE session / PPP / IP
	EncapIPIP          // IPv4 / IP (protocol 4 or 41)
	EncapGTPU          // IPv4 / UDP 2152 / GTP-U / IP
	numEncaps
)

var encapNames = [numEncaps]string{"none", "vxlan", "geneve", "gre", "erspan2", "erspan3", "mpls", "pppoe", "ipip", "gtpu"}

func (e Encap) String() string {
	if e < numEncaps {
		return encapNames[e]
	}
	return fmt.Sprintf("encap-%d", e)
}

// Encaps lists every encapsulation but EncapNone.
func Encaps() []Encap {
	out := make([]Encap, 0, numEncaps-1)
	for e := EncapNone + 1; e < numEncaps; e++ {
		out = append(out, e)
	}
	return out
}

// ParseEncap returns the encapsulation named s (as String gives it).
func ParseEncap(s string) (Encap, error) {
	for e, n := range encapNames {
		if strings.EqualFold(s, n) {
			return Encap(e), nil
		}
	}
	return 0, fmt.Errorf("flowgen: unknown encapsulation %q (want one of %s)", s, strings.Join(encapNames[:], ", "))
}

// ethernet reports whether the encapsulation carries the whole Ethernet
// frame (VLAN tag inside); the others carry the IP packet and put the VLAN
// tag on the outer Ethernet header.
func (e Encap) ethernet() bool {
	switch e {
	case EncapVXLAN, EncapGENEVE, EncapGRE, EncapERSPAN2, EncapERSPAN3:
		return true
	}
	return false
}

// lengthField16 reports whether the encapsulation has a 16-bit length of
// its payload that an oversized segment could overflow.
func (e Encap) lengthField16() bool { return e == EncapPPPoE || e == EncapGTPU }

// hdrLen is the length of the encapsulation's own header (after the outer
// Ethernet and, where there is one, the outer IPv4 header and UDP).
func (e Encap) hdrLen() int {
	switch e {
	case EncapVXLAN:
		return 8 + 8
	case EncapGENEVE:
		return 8 + 16
	case EncapGRE:
		return 8
	case EncapERSPAN2:
		return 8 + 8
	case EncapERSPAN3:
		return 8 + 12
	case EncapMPLS:
		return 4
	case EncapPPPoE:
		return 8
	case EncapGTPU:
		return 8 + 8
	}
	return 0
}

// outerIP reports whether there is an outer IPv4 header.
func (e Encap) outerIP() bool { return e != EncapMPLS && e != EncapPPPoE }

// encapLen is the frame length with the encapsulation, for an unwrapped
// frame of n bytes whose Ethernet header (and tag) takes eth bytes.
func (p *Packet) encapLen(n, eth int) int {
	e := p.Encap
	if e.ethernet() {
		return 14 + 20 + e.hdrLen() + n
	}
	out := eth + e.hdrLen() + n - eth
	if e.outerIP() {
		out += 20
	}
	return out
}

var (
	tunnelA = netip.AddrFrom4([4]byte{192, 0, 2, 1})
	tunnelB = netip.AddrFrom4([4]byte{192, 0, 2, 2})
)

// wrap writes the encapsulation headers in b[:hdr], before the inner part
// already in b[hdr:] (the whole frame, or the IP packet). v6 says the
// inner IP version, vlan the tag to put on the outer Ethernet.
func (p *Packet) wrap(b []byte, hdr int, v6 bool, vlan uint16) {
	e := p.Encap
	src, dst := tunnelA, tunnelB
	if p.Dir == 1 {
		src, dst = tunnelB, tunnelA
	}
	putMAC(b[0:6], dst)
	putMAC(b[6:12], src)
	i := 12
	if vlan != 0 {
		binary.BigEndian.PutUint16(b[i:], 0x8100)
		binary.BigEndian.PutUint16(b[i+2:], vlan&0x0fff)
		i += 4
	}
	switch e {
	case EncapMPLS:
		binary.BigEndian.PutUint16(b[i:], 0x8847)
		binary.BigEndian.PutUint32(b[i+2:], (p.EncapID&0xfffff)<<12|0x100|64)
		return
	case EncapPPPoE:
		binary.BigEndian.PutUint16(b[i:], 0x8864)
		h := b[i+2:]
		h[0], h[1] = 0x11, 0
		binary.BigEndian.PutUint16(h[2:], uint16(p.EncapID))
		binary.BigEndian.PutUint16(h[4:], uint16(2+len(b)-hdr))
		ppp := uint16(0x0021)
		if v6 {
			ppp = 0x0057
		}
		binary.BigEndian.PutUint16(h[6:], ppp)
		return
	}
	binary.BigEndian.PutUint16(b[i:], 0x0800)
	i += 2
	ip := b[i : i+20]
	proto := byte(17)
	switch e {
	case EncapGRE, EncapERSPAN2, EncapERSPAN3:
		proto = 47
	case EncapIPIP:
		proto = 4
		if v6 {
			proto = 41
		}
	}
	tot := len(b) - i
	if tot > 0xffff {
		tot = 0 // as a TSO capture: the frame's length is the only one
	}
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(tot))
	binary.BigEndian.PutUint16(ip[4:], 0)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = 64, proto
	ip[10], ip[11] = 0, 0
	s, d := src.As4(), dst.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], fold(sum(ip, 0)))
	h := b[i+20 : hdr]
	switch e {
	case EncapVXLAN, EncapGENEVE, EncapGTPU:
		// UDP; the source port varies with the inner flow (as VXLAN's
		// entropy port does), the same both ways
		sp, dp := uint16(4789), uint16(4789)
		switch e {
		case EncapGENEVE:
			dp = 6081
		case EncapGTPU:
			sp, dp = 2152, 2152
		}
		if e != EncapGTPU {
			sp = 49152 | (p.Src.Port()^p.Dst.Port())&0x3fff
		}
		binary.BigEndian.PutUint16(h[0:], sp)
		binary.BigEndian.PutUint16(h[2:], dp)
		ul := len(b) - i - 20
		if ul > 0xffff {
			ul = 0
		}
		binary.BigEndian.PutUint16(h[4:], uint16(ul))
		h[6], h[7] = 0, 0 // no checksum (allowed over IPv4)
		h = h[8:]
	}
	switch e {
	case EncapVXLAN:
		binary.BigEndian.PutUint32(h[0:], 0x08000000)
		binary.BigEndian.PutUint32(h[4:], p.EncapID<<8)
	case EncapGENEVE:
		h[0], h[1] = 2, 0 // version 0, 2 words of options
		binary.BigEndian.PutUint16(h[2:], 0x6558)
		binary.BigEndian.PutUint32(h[4:], p.EncapID<<8)
		binary.BigEndian.PutUint32(h[8:], 0x0102_80_01) // class 0x0102, type 0x80, 1 word
		binary.BigEndian.PutUint32(h[12:], uint32(p.Conn))
	case EncapGRE:
		binary.BigEndian.PutUint32(h[0:], 0x2000_6558)
		binary.BigEndian.PutUint32(h[4:], p.EncapID)
	case EncapERSPAN2, EncapERSPAN3:
		ver, pt := uint32(1), uint32(0x88be)
		if e == EncapERSPAN3 {
			ver, pt = 2, 0x22eb
		}
		binary.BigEndian.PutUint32(h[0:], 0x1000<<16|pt)
		binary.BigEndian.PutUint32(h[4:], uint32(p.Seq)) // GRE sequence: any
		binary.BigEndian.PutUint32(h[8:], ver<<28|p.EncapID&0x3ff)
		binary.BigEndian.PutUint32(h[12:], 0)
		if e == EncapERSPAN3 {
			binary.BigEndian.PutUint32(h[16:], 0) // SGT, frame type 0 (Ethernet), no sub-header
		}
	case EncapGTPU:
		h[0], h[1] = 0x30, 0xff
		binary.BigEndian.PutUint16(h[2:], uint16(len(b)-hdr))
		binary.BigEndian.PutUint32(h[4:], p.EncapID)
	}
}
