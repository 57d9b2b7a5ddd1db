package decode

import (
	"encoding/binary"

	"github.com/fastsniff/fastsniff/reassembly"
)

// fastEtherIPv4TCP decodes the most common frame of all in one pass:
// Ethernet, no VLAN tag, IPv4 without options, not a fragment, TCP, whole
// (nothing cut by the capture or missing from the IP length). Anything
// else returns false before touching seg or the counters, and the general
// path decodes the frame. The result is exactly what the general path
// gives (FuzzFastPath compares them on every input): it is the same code,
// without the calls, the per-layer result passing and the branches for
// what this frame does not have. On small packets that was half of the
// decoder's instructions (cachegrind, real traffic: 330 a packet).
func (d *Decoder) fastEtherIPv4TCP(data []byte, seg *reassembly.Segment) bool {
	if len(data) < 14+20+20 || binary.BigEndian.Uint16(data[12:]) != 0x0800 {
		return false
	}
	b := data[14:]
	tot := int(binary.BigEndian.Uint16(b[2:]))
	if b[0] != 0x45 || b[9] != 6 || tot < 40 || tot > len(b) ||
		binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
		return false
	}
	t := b[20:tot]
	doff := int(t[12]>>4) << 2
	if doff < 20 || doff > len(t) {
		return false
	}
	seg.Src[10], seg.Src[11] = 0xff, 0xff
	seg.Dst[10], seg.Dst[11] = 0xff, 0xff
	copy(seg.Src[12:], b[12:16])
	copy(seg.Dst[12:], b[16:20])
	seg.Payload = t[doff:]
	tcpHeader(t, seg)
	if seg.Flags&reassembly.SYN != 0 && doff > 20 {
		ws, ok := windowScale(t[20:doff])
		seg.WScale = ws
		if !ok {
			d.st.BadTCPOptions++
		}
	}
	d.st.TCP++
	return true
}

// fastInnerEther is fastEtherIPv4TCP for the Ethernet frame inside a
// tunnel (VXLAN, GENEVE, GRE bridging, ERSPAN, Ethernet over MPLS), with
// what ipv4 and tcp do for an inner header: the outer addresses are
// forgotten, and the segment is counted as tunnelled and keyed by the
// tunnel when asked. Without it a wrapped copy of a capture cost 9-18%
// more per packet than the bare one, which takes the fast path.
func (d *Decoder) fastInnerEther(b []byte, seg *reassembly.Segment) bool {
	if !d.fastEtherIPv4TCP(b, seg) {
		return false
	}
	d.innerTCP(seg)
	return true
}

// innerTCP is what ipv4 and tcp do to a segment decoded by
// fastEtherIPv4TCP inside a tunnel.
func (d *Decoder) innerTCP(seg *reassembly.Segment) {
	seg.V6 = false
	clear(seg.Src[:10])
	clear(seg.Dst[:10])
	seg.Src[10], seg.Src[11] = 0xff, 0xff
	seg.Dst[10], seg.Dst[11] = 0xff, 0xff
	d.st.Tunnelled++
	if d.cfg.TunnelKey {
		seg.Tunnel = d.chain.Hash()
		if d.cfg.Names != nil {
			d.noteName(seg.Tunnel)
		}
	}
}

// fastVXLAN decodes, in one pass, the frame cloud traffic mirroring
// delivers: Ethernet, IPv4 without options, not a fragment, UDP to or from
// port 4789, VXLAN, and inside it the common frame (fastEtherIPv4TCP),
// all whole. Anything else returns false before any side effect, for the
// general path. It is what udp, vxlan and ethernet do for that frame
// (FuzzFastPath compares them, the tunnel chain included): a VXLAN copy of
// a capture cost 9-18% more CPU per packet than the bare one through the
// general path (docs/PERFORMANCE.md, issue #14 allows 15%).
func (d *Decoder) fastVXLAN(data []byte, seg *reassembly.Segment) bool {
	const minLen = 14 + 20 + 8 + 8 + 14 + 20 + 20
	if len(data) < minLen || binary.BigEndian.Uint16(data[12:]) != 0x0800 {
		return false
	}
	b := data[14:]
	tot := int(binary.BigEndian.Uint16(b[2:]))
	if b[0] != 0x45 || b[9] != 17 || tot < 20+8 || tot > len(b) ||
		binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
		return false
	}
	u := b[20:tot]
	sp, dp := binary.BigEndian.Uint16(u), binary.BigEndian.Uint16(u[2:])
	n := int(binary.BigEndian.Uint16(u[4:]))
	if sp != portVXLAN && dp != portVXLAN || n < 8+8 || n > len(u) || u[8]&0x08 == 0 {
		return false
	}
	if d.chain.N != 0 || !d.fastEtherIPv4TCP(u[16:n], seg) {
		return false
	}
	d.push(TunnelVXLAN, binary.BigEndian.Uint32(u[12:])>>8, true) // the first layer: room
	d.innerTCP(seg)
	return true
}
