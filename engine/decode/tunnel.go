package decode

import (
	"encoding/binary"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Encapsulations. Every function here takes the captured bytes of its
// header and what follows (b) and how many more bytes the capture cut
// after them (missing), records its layer in d.chain and hands the inner
// packet on. Each layer costs one of MaxTunnelDepth, so nesting in any
// order is bounded; every header is bounds-checked before it is read.

// UDP ports that select a tunnel, on either side as tshark matches them
// (a VXLAN sender may put 4789 in its source port and something else,
// such as 4790, in the destination).
const (
	portVXLAN  = 4789
	portGENEVE = 6081
	portGTPU   = 2152
	portGREUDP = 4754
	portTeredo = 3544 // other ports by the heuristic
	portAYIYA  = 5072
)

// push records a layer; false when the chain is full.
func (d *Decoder) push(k TunnelKind, id uint32, hasID bool) bool {
	if d.chain.N == MaxTunnelDepth {
		return false
	}
	d.chain.Layers[d.chain.N] = Layer{Kind: k, HasID: hasID, ID: id}
	d.chain.N++
	d.st.TunnelLayers[k]++
	return true
}

// tunnelBad returns ReasonIPTruncated if the capture cut the header
// (missing > 0), else the encapsulation's own reason.
func (d *Decoder) tunnelBad(missing int, r Reason) (Result, Reason) {
	if missing > 0 {
		return d.malformed(ReasonIPTruncated)
	}
	return d.malformed(r)
}

// ethernet decodes an inner Ethernet frame (no FCS).
func (d *Decoder) ethernet(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 14 {
		return d.malformed(ReasonLinkTruncated)
	}
	if missing == 0 && !d.cfg.VerifyChecksums && !d.noFast && d.fastInnerEther(b, seg) {
		return ResultTCP, ReasonNone
	}
	return d.etherType(binary.BigEndian.Uint16(b[12:]), b[14:], missing, seg)
}

// ipByVersion decodes an IP packet whose version nibble is its only type
// field (MPLS, GTP-U, ERSPAN III).
func (d *Decoder) ipByVersion(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) == 0 {
		return d.malformed(ReasonIPTruncated)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, missing, seg)
	case 6:
		return d.ipv6(b, missing, seg)
	}
	return d.notTCP()
}

// mpls walks an MPLS label stack (EtherType 0x8847/0x8848). The payload has
// no type field: labels 0 and 2 (explicit null) announce IPv4 and IPv6;
// otherwise the first nibble decides, as Wireshark and Suricata guess it:
// 4 IPv4, 6 IPv6, 0 a pseudowire control word followed by Ethernet, and
// anything else Ethernet without control word (RFC 4448). An Ethernet
// frame whose destination MAC begins with the nibble 4 or 6 is misread as
// IP (and then fails as malformed or not TCP): the guess every decoder
// makes, since the label alone does not say.
func (d *Decoder) mpls(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	var label uint32
	for i := 0; ; i++ {
		if i == maxMPLSLabels {
			return d.malformed(ReasonMPLS)
		}
		if len(b) < 4 {
			return d.tunnelBad(missing, ReasonMPLS)
		}
		v := binary.BigEndian.Uint32(b)
		b = b[4:]
		label = v >> 12
		if v&0x100 != 0 {
			break
		}
	}
	if !d.push(TunnelMPLS, label, true) {
		return d.malformed(ReasonTunnelDepth)
	}
	switch label {
	case 0:
		return d.ipv4(b, missing, seg)
	case 2:
		return d.ipv6(b, missing, seg)
	}
	if len(b) == 0 {
		return d.tunnelBad(missing, ReasonMPLS)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, missing, seg)
	case 6:
		return d.ipv6(b, missing, seg)
	case 0:
		// A control word, unless the bytes read better as Ethernet
		// without one whose destination MAC starts with a 0 nibble (most
		// vendor OUIs): the EtherType is what tells.
		if len(b) >= 14 && knownEtherType(b[12:]) && (len(b) < 18 || !knownEtherType(b[16:])) {
			return d.ethernet(b, missing, seg)
		}
		if len(b) < 4 {
			return d.tunnelBad(missing, ReasonMPLS)
		}
		return d.ethernet(b[4:], missing, seg)
	}
	return d.ethernet(b, missing, seg)
}

// knownEtherType reports whether b starts with an EtherType the decoder
// follows.
func knownEtherType(b []byte) bool {
	switch binary.BigEndian.Uint16(b) {
	case 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864:
		return true
	}
	return false
}

// pppoe decodes a PPPoE session header (EtherType 0x8864, RFC 2516) and
// the PPP protocol field after it.
func (d *Decoder) pppoe(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonPPPoE)
	}
	if b[0] != 0x11 || b[1] != 0 { // version 1, type 1; code 0 in session data
		return d.malformed(ReasonPPPoE)
	}
	if !d.push(TunnelPPPoE, uint32(binary.BigEndian.Uint16(b[2:])), true) {
		return d.malformed(ReasonTunnelDepth)
	}
	n := int(binary.BigEndian.Uint16(b[4:])) // PPP protocol field + payload
	if n < 2 {
		return d.malformed(ReasonPPPoE)
	}
	if 6+n < len(b) {
		b = b[:6+n] // Ethernet padding
		missing = 0
	}
	// The PPP protocol field, one byte when compressed (RFC 1661 PFC:
	// the first byte of a two-byte field is even, a one-byte field odd).
	proto, off := binary.BigEndian.Uint16(b[6:]), 8
	if b[6]&1 == 1 {
		proto, off = uint16(b[6]), 7
	}
	switch proto {
	case 0x0021:
		return d.ipv4(b[off:], missing, seg)
	case 0x0057:
		return d.ipv6(b[off:], missing, seg)
	}
	return d.notTCP() // LCP, IPCP, ...
}

// gre decodes a GRE header (RFC 2784, 2890) and what it carries: IP,
// Ethernet (transparent Ethernet bridging), ERSPAN, or anything else by
// its EtherType. Version 1 (PPTP) carries PPP and is not decoded.
func (d *Decoder) gre(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 4 {
		return d.tunnelBad(missing, ReasonGRE)
	}
	flags := binary.BigEndian.Uint16(b)
	proto := binary.BigEndian.Uint16(b[2:])
	if flags&7 != 0 {
		return d.notTCP() // PPTP's enhanced GRE
	}
	if flags&0x4f00 != 0 {
		// Routing, strict source route or recursion control: RFC 1701
		// features RFC 2784 tells receivers to discard.
		return d.malformed(ReasonGRE)
	}
	off := 4
	if flags&0x8000 != 0 { // checksum + reserved1
		off += 4
	}
	var key uint32
	hasKey := flags&0x2000 != 0
	if hasKey {
		if len(b) < off+4 {
			return d.tunnelBad(missing, ReasonGRE)
		}
		key = binary.BigEndian.Uint32(b[off:])
		off += 4
	}
	seq := flags&0x1000 != 0
	if seq {
		off += 4
	}
	if len(b) < off {
		return d.tunnelBad(missing, ReasonGRE)
	}
	if !d.push(TunnelGRE, key, hasKey) {
		return d.malformed(ReasonTunnelDepth)
	}
	p := b[off:]
	switch proto {
	case 0x6558:
		return d.ethernet(p, missing, seg)
	case 0x88be:
		if !seq {
			// Type I: no ERSPAN header, the mirrored frame follows.
			if !d.push(TunnelERSPAN1, 0, false) {
				return d.malformed(ReasonTunnelDepth)
			}
			return d.ethernet(p, missing, seg)
		}
		return d.erspan2(p, missing, seg)
	case 0x22eb:
		return d.erspan3(p, missing, seg)
	}
	return d.etherType(proto, p, missing, seg)
}

// erspan2 decodes an ERSPAN type II header (8 bytes, version 1).
func (d *Decoder) erspan2(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonERSPAN)
	}
	if b[0]>>4 != 1 {
		return d.malformed(ReasonERSPAN)
	}
	if !d.push(TunnelERSPAN2, uint32(binary.BigEndian.Uint16(b[2:])&0x3ff), true) {
		return d.malformed(ReasonTunnelDepth)
	}
	return d.ethernet(b[8:], missing, seg)
}

// erspan3 decodes an ERSPAN type III header (12 bytes, version 2, plus an
// 8-byte platform sub-header when its O flag is set). Frame type 0 is
// Ethernet, 2 IP; others are not decoded.
func (d *Decoder) erspan3(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 12 {
		return d.tunnelBad(missing, ReasonERSPAN)
	}
	if b[0]>>4 != 2 {
		return d.malformed(ReasonERSPAN)
	}
	n := 12
	if b[11]&1 != 0 {
		n += 8
		if len(b) < n {
			return d.tunnelBad(missing, ReasonERSPAN)
		}
	}
	if !d.push(TunnelERSPAN3, uint32(binary.BigEndian.Uint16(b[2:])&0x3ff), true) {
		return d.malformed(ReasonTunnelDepth)
	}
	switch (b[10] >> 2) & 0x1f {
	case 0:
		return d.ethernet(b[n:], missing, seg)
	case 2:
		return d.ipByVersion(b[n:], missing, seg)
	}
	return d.notTCP()
}

// ipInIP decodes IPv4 (protocol 4) or IPv6 (41) carried directly in IP.
func (d *Decoder) ipInIP(proto byte, b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if !d.push(TunnelIPIP, 0, false) {
		return d.malformed(ReasonTunnelDepth)
	}
	if proto == 4 {
		return d.ipv4(b, missing, seg)
	}
	return d.ipv6(b, missing, seg)
}

// udp decodes a UDP header and, on a tunnel's port, the tunnel inside.
// Other UDP is ResultNotTCP.
func (d *Decoder) udp(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.notTCP() // too short to tell which port it was for
	}
	sp := binary.BigEndian.Uint16(b)
	dp := binary.BigEndian.Uint16(b[2:])
	if n := int(binary.BigEndian.Uint16(b[4:])); n >= 8 && n <= len(b) {
		b = b[:n] // trailing bytes are not UDP payload
		missing = 0
	}
	p := b[8:]
	switch {
	case dp == portVXLAN || sp == portVXLAN || d.vxlanPort(dp) || d.vxlanPort(sp):
		return d.vxlan(p, missing, seg)
	case dp == portGENEVE || sp == portGENEVE:
		return d.geneve(p, missing, seg)
	case dp == portGTPU || sp == portGTPU:
		return d.gtpu(p, missing, seg)
	case dp == portGREUDP || sp == portGREUDP:
		if !d.push(TunnelGREUDP, 0, false) {
			return d.malformed(ReasonTunnelDepth)
		}
		return d.gre(p, missing, seg)
	case dp == portTeredo || sp == portTeredo:
		return d.teredo(p, missing, seg)
	case dp == portAYIYA || sp == portAYIYA:
		return d.ayiya(p, missing, seg)
	}
	if !d.cfg.NoTeredoHeuristic {
		return d.teredo(p, missing, seg)
	}
	return d.notTCP()
}

func (d *Decoder) vxlanPort(p uint16) bool {
	for _, q := range d.cfg.VXLANPorts {
		if p == q {
			return true
		}
	}
	return false
}

// vxlan decodes a VXLAN header (RFC 7348): the I flag must be set; the
// reserved bits are not checked (as tshark, Suricata and Zeek).
func (d *Decoder) vxlan(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonVXLAN)
	}
	if b[0]&0x08 == 0 {
		return d.malformed(ReasonVXLAN)
	}
	if !d.push(TunnelVXLAN, binary.BigEndian.Uint32(b[4:])>>8, true) {
		return d.malformed(ReasonTunnelDepth)
	}
	return d.ethernet(b[8:], missing, seg)
}

// geneve decodes a GENEVE header (RFC 8926, version 0) and skips its
// options; the protocol type says what follows (0x6558 Ethernet).
func (d *Decoder) geneve(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonGENEVE)
	}
	if b[0]>>6 != 0 {
		return d.malformed(ReasonGENEVE)
	}
	n := 8 + int(b[0]&0x3f)*4
	if len(b) < n {
		return d.tunnelBad(missing, ReasonGENEVE)
	}
	if !d.push(TunnelGENEVE, binary.BigEndian.Uint32(b[4:])>>8, true) {
		return d.malformed(ReasonTunnelDepth)
	}
	proto := binary.BigEndian.Uint16(b[2:])
	if proto == 0x6558 {
		return d.ethernet(b[n:], missing, seg)
	}
	return d.etherType(proto, b[n:], missing, seg)
}

// gtpu decodes a GTP-U version 1 G-PDU (3GPP TS 29.281) with its optional
// sequence/N-PDU fields and extension headers; the inner IP version comes
// from its first nibble. Signalling messages (echo, error indication, end
// marker) and other GTP versions are ResultNotTCP.
func (d *Decoder) gtpu(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonGTP)
	}
	flags := b[0]
	if flags>>5 != 1 || flags&0x10 == 0 || b[1] != 0xff {
		return d.notTCP()
	}
	if n := 8 + int(binary.BigEndian.Uint16(b[2:])); n < len(b) {
		b = b[:n]
		missing = 0
	}
	off := 8
	if flags&0x07 != 0 {
		if len(b) < 12 {
			return d.tunnelBad(missing, ReasonGTP)
		}
		next := b[11]
		off = 12
		for i := 0; next != 0; i++ {
			if i == 16 {
				return d.malformed(ReasonGTP)
			}
			if len(b) < off+1 {
				return d.tunnelBad(missing, ReasonGTP)
			}
			n := int(b[off]) * 4 // length in 4-byte units, length and next-type bytes included
			if n == 0 {
				return d.malformed(ReasonGTP)
			}
			if len(b) < off+n {
				return d.tunnelBad(missing, ReasonGTP)
			}
			next = b[off+n-1]
			off += n
		}
	}
	if !d.push(TunnelGTPU, binary.BigEndian.Uint32(b[4:]), true) {
		return d.malformed(ReasonTunnelDepth)
	}
	return d.ipByVersion(b[off:], missing, seg)
}

// teredo decodes Teredo (RFC 4380): optional authentication and origin
// indication headers, then IPv6. Off port 3544 (relays use any port) it is
// taken as Teredo only when what follows is an IPv6 header whose payload
// length fills the datagram exactly; otherwise the packet is plain UDP.
func (d *Decoder) teredo(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	p := b
	if len(p) >= 4 && p[0] == 0 && p[1] == 1 { // authentication
		n := 4 + int(p[2]) + int(p[3]) + 9
		if len(p) < n {
			return d.notTCP()
		}
		p = p[n:]
	}
	if len(p) >= 8 && p[0] == 0 && p[1] == 0 { // origin indication
		p = p[8:]
	}
	if len(p) < 40 || p[0]>>4 != 6 || 40+int(binary.BigEndian.Uint16(p[4:])) != len(p)+missing {
		return d.notTCP() // bubbles, qualification, or not Teredo at all
	}
	if !d.push(TunnelTeredo, 0, false) {
		return d.malformed(ReasonTunnelDepth)
	}
	return d.ipv6(p, missing, seg)
}

// ayiya decodes AYIYA (Anything In Anything, UDP 5072) as Zeek does:
// identity and signature lengths from the first two bytes; only forward
// operations (opcode 1) carry a packet, IPv4 or IPv6.
func (d *Decoder) ayiya(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 8 {
		return d.tunnelBad(missing, ReasonAYIYA)
	}
	n := 8 + 1<<(b[0]>>4) + int(b[1]>>4)*4
	if len(b) < n {
		return d.tunnelBad(missing, ReasonAYIYA)
	}
	nh := b[3]
	if b[2]&0x0f != 1 || (nh != 4 && nh != 41) {
		return d.notTCP() // heartbeats, queries
	}
	if !d.push(TunnelAYIYA, 0, false) {
		return d.malformed(ReasonTunnelDepth)
	}
	if nh == 4 {
		return d.ipv4(b[n:], missing, seg)
	}
	return d.ipv6(b[n:], missing, seg)
}
