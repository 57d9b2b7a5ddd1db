package decode

import "strconv"

// MaxTunnelDepth is how many encapsulation layers (tunnel headers) one
// packet may carry before the innermost TCP; a packet with more is
// ResultMalformed with ReasonTunnelDepth. Eight covers every stacking seen
// in practice (ERSPAN around VXLAN around an MPLS VPN is three) while
// bounding the work a crafted packet can ask for.
const MaxTunnelDepth = 8

// maxMPLSLabels bounds one MPLS label stack (counted as a single layer).
const maxMPLSLabels = 16

// TunnelKind names one encapsulation layer.
type TunnelKind uint8

// Tunnel kinds. The ID a layer carries is given after each.
const (
	TunnelNone    TunnelKind = iota
	TunnelMPLS               // bottom-of-stack label (the service/VPN label)
	TunnelPPPoE              // PPPoE session id
	TunnelGRE                // GRE key, when the K flag is set
	TunnelGREUDP             // GRE in UDP (RFC 8086, port 4754); the GRE layer follows
	TunnelERSPAN1            // ERSPAN type I (GRE 0x88be without sequence): no id
	TunnelERSPAN2            // ERSPAN type II session id
	TunnelERSPAN3            // ERSPAN type III session id
	TunnelVXLAN              // VNI
	TunnelGENEVE             // VNI
	TunnelIPIP               // IPv4/IPv6 directly in IPv4/IPv6 (protocols 4, 41): no id
	TunnelTeredo             // no id
	TunnelGTPU               // TEID
	TunnelAYIYA              // no id

	// NumTunnelKinds sizes Stats.TunnelLayers.
	NumTunnelKinds
)

var tunnelNames = [NumTunnelKinds]string{
	TunnelNone:    "none",
	TunnelMPLS:    "mpls",
	TunnelPPPoE:   "pppoe",
	TunnelGRE:     "gre",
	TunnelGREUDP:  "gre-udp",
	TunnelERSPAN1: "erspan1",
	TunnelERSPAN2: "erspan2",
	TunnelERSPAN3: "erspan3",
	TunnelVXLAN:   "vxlan",
	TunnelGENEVE:  "geneve",
	TunnelIPIP:    "ipip",
	TunnelTeredo:  "teredo",
	TunnelGTPU:    "gtpu",
	TunnelAYIYA:   "ayiya",
}

// String returns the kind's short name (as in the conn log's tunnel field).
func (k TunnelKind) String() string {
	if k < NumTunnelKinds {
		return tunnelNames[k]
	}
	return "tunnel?"
}

// Layer is one encapsulation layer of a packet: its kind and, where the
// kind has one and the packet carried it, its identifier.
type Layer struct {
	Kind  TunnelKind
	HasID bool
	ID    uint32
}

// Chain is the encapsulation of one packet, outermost layer first. A value
// type: copying it copies the layers.
type Chain struct {
	Layers [MaxTunnelDepth]Layer
	N      uint8
}

// Slice returns the layers in use (pointing into c).
func (c *Chain) Slice() []Layer { return c.Layers[:c.N] }

// Hash identifies the chain with its identifiers: 0 for no tunnel, never 0
// otherwise. Two chains with the same kinds and ids in the same order hash
// alike; it is what Segment.Tunnel carries with Config.TunnelKey.
func (c *Chain) Hash() uint32 {
	if c.N == 0 {
		return 0
	}
	h := uint64(14695981039346656037)
	for _, l := range c.Layers[:c.N] {
		v := uint64(l.Kind)<<40 | uint64(l.ID)
		if l.HasID {
			v |= 1 << 48
		}
		h ^= v
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	if x := uint32(h) ^ uint32(h>>32); x != 0 {
		return x
	}
	return 1
}

// AppendText appends the chain as text: layers outermost first, joined by
// "/", each its kind name followed by its id in parentheses where it has
// one, e.g. "erspan2(session=20)/vxlan(vni=0)". VNIs, labels and ERSPAN
// sessions are decimal; GRE keys, TEIDs and PPPoE sessions hexadecimal, as
// tshark prints them.
func (c *Chain) AppendText(b []byte) []byte {
	for i, l := range c.Layers[:c.N] {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, l.Kind.String()...)
		if !l.HasID {
			continue
		}
		b = append(b, '(')
		switch l.Kind {
		case TunnelMPLS:
			b = append(b, "label="...)
			b = strconv.AppendUint(b, uint64(l.ID), 10)
		case TunnelVXLAN, TunnelGENEVE:
			b = append(b, "vni="...)
			b = strconv.AppendUint(b, uint64(l.ID), 10)
		case TunnelERSPAN2, TunnelERSPAN3:
			b = append(b, "session="...)
			b = strconv.AppendUint(b, uint64(l.ID), 10)
		case TunnelPPPoE:
			b = append(b, "session="...)
			b = appendHex(b, l.ID, 4)
		case TunnelGRE:
			b = append(b, "key="...)
			b = appendHex(b, l.ID, 8)
		case TunnelGTPU:
			b = append(b, "teid="...)
			b = appendHex(b, l.ID, 8)
		default:
			b = append(b, "id="...)
			b = strconv.AppendUint(b, uint64(l.ID), 10)
		}
		b = append(b, ')')
	}
	return b
}

// String returns AppendText's text ("" for no tunnel).
func (c Chain) String() string { return string(c.AppendText(nil)) }

func appendHex(b []byte, v uint32, digits int) []byte {
	const hx = "0123456789abcdef"
	b = append(b, '0', 'x')
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hx[(v>>(4*i))&0xf])
	}
	return b
}
