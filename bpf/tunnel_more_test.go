package bpf

import (
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

// moreTunnelPackets: Teredo, AYIYA, GRE in UDP and Ethernet over MPLS
// (with and without the pseudowire control word) around the inner frames.
func moreTunnelPackets(eth, v4, v6 []byte) map[string][]byte {
	udp4 := func(sp, dp uint16, payload []byte) []byte { return ether(nil, 0x0800, ip4(17, udpp(sp, dp, payload))) }
	// client id 3 bytes, auth value 2 bytes, nonce 8, confirmation 1
	teredoAuth := []byte{0, 1, 3, 2, 0x63, 0x6c, 0x69, 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 0}
	origin := []byte{0, 0, 0xfc, 0x17, 0x3f, 0xff, 0xfe, 0xfd}
	bubble := ip6(59, nil)
	v6long := append([]byte(nil), v6...)
	v6long[4], v6long[5] = 0x0f, 0xff // payload length past the datagram
	ayiya := func(op, nh byte, inner []byte) []byte {
		// identity 2^4 = 16 bytes, signature 5*4 = 20 bytes
		return join([]byte{0x41, 0x52, 0x10 | op, nh, 0, 0, 0, 9}, make([]byte, 36), inner)
	}
	label := []byte{0, 0x10, 0x01, 64} // 256, bottom of stack
	ethA := append([]byte{0xa0}, eth[1:]...)
	ethVLAN := ether([]tag{{0x8100, 5}}, 0x0800, v4)
	vxlanEth := ether(nil, 0x0800, ip4(17, udpp(1, 4789, join([]byte{8, 0, 0, 0, 0, 0, 7, 0}, eth))))
	return map[string][]byte{
		"teredo auth origin":           udp4(3544, 40000, join(teredoAuth, origin, v6)),
		"teredo auth":                  udp4(40000, 3544, join(teredoAuth, v6)),
		"teredo auth other port":       udp4(40000, 50000, join(teredoAuth, v6)),
		"teredo auth short":            udp4(3544, 40000, []byte{0, 1, 200, 200, 0, 0}),
		"teredo bubble":                udp4(3544, 40000, bubble),
		"teredo other port bubble":     udp4(50000, 40000, join(origin, bubble)),
		"teredo ipv6 longer":           udp4(3544, 40000, v6long),
		"teredo trailing bytes":        udp4(3544, 40000, join(v6, []byte{1, 2, 3, 4})),
		"teredo bad udp length":        func() []byte { d := udp4(3544, 40000, v6); d[14+20+4] = 0xff; return d }(),
		"teredo origin not ipv6":       udp4(3544, 40000, join(origin, v4)),
		"teredo bad indicator":         udp4(3544, 40000, join([]byte{0, 2}, make([]byte, 6), v6)),
		"quic short header":            udp4(443, 50000, join([]byte{0x65, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 60))),
		"ayiya ipv4":                   udp4(5072, 5072, ayiya(1, 4, v4)),
		"ayiya ipv6":                   udp4(40000, 5072, ayiya(1, 41, v6)),
		"ayiya heartbeat":              udp4(5072, 5072, ayiya(0, 59, nil)),
		"ayiya udp inside":             udp4(5072, 5072, ayiya(1, 17, v4)),
		"ayiya short":                  udp4(5072, 5072, ayiya(1, 4, nil)[:30]),
		"gre in udp ipv6":              udp4(4754, 4754, join([]byte{0x20, 0, 0x86, 0xdd, 0, 0, 0, 7}, v6)),
		"gre in udp erspan2":           udp4(1, 4754, join([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 20, 0, 0, 0, 0}, eth)),
		"mpls cw ethernet ipv6":        ether(nil, 0x8847, join(label, []byte{0, 0, 0, 1}, ether(nil, 0x86dd, v6))),
		"mpls ethernet no cw":          ether(nil, 0x8847, join(label, eth)),
		"mpls ethernet no cw mac a0":   ether(nil, 0x8847, join(label, ethA)),
		"mpls cw ethernet vlan":        ether(nil, 0x8847, join(label, []byte{0, 0, 0, 0}, ethVLAN)),
		"mpls ethernet vlan no cw":     ether(nil, 0x8847, join(label, ethVLAN)),
		"mpls cw short":                ether(nil, 0x8847, join(label, []byte{0, 0, 0})),
		"mpls cw ethernet arp":         ether(nil, 0x8847, join(label, []byte{0, 0, 0, 0}, ether(nil, 0x0806, make([]byte, 28)))),
		"mpls 2 labels cw ether vxlan": ether(nil, 0x8847, join([]byte{0, 0x0f, 0xe0, 64}, label, []byte{0, 0, 0, 0}, vxlanEth)),
	}
}

// TestInspectDecoderSynthetic: on every synthetic tunnel frame and its
// truncations, the kernel's classification never drops what the
// userspace decoder reads as TCP, and a key it gives is the decoder's.
func TestInspectDecoderSynthetic(t *testing.T) {
	dec := decode.New(decode.Config{})
	counts := map[string]int{}
	for name, d := range tunnelPackets() {
		for n := len(d); n >= 14; n-- {
			f := d[:n]
			var seg reassembly.Segment
			res, _ := dec.Decode(decode.LinkEthernet, f, len(f), 1, &seg)
			ins := Inspect(f, DLTEN10MB)
			if n == len(d) {
				counts[res.String()+"/"+ins.Class.String()]++
			}
			if res != decode.ResultTCP {
				continue
			}
			if ins.Class == NonTCP {
				t.Errorf("%s cut to %d: decoder TCP in %v, kernel drops it", name, n, dec.Tunnel())
			}
			k := ins.Key
			if ins.Class == TCP && (k.Src != seg.Src || k.Dst != seg.Dst || k.SrcPort != seg.SrcPort || k.DstPort != seg.DstPort ||
				k.NVLANs != seg.VLANs.N || k.VLANs != seg.VLANs.IDs || !headerEnds(f, ins.HeaderLen, &seg)) {
				t.Errorf("%s cut to %d: Inspect %v header %d, decoder %+v", name, n, k, ins.HeaderLen, seg)
			}
		}
	}
	t.Logf("decoder/Inspect on whole frames: %v", counts)
	if counts["tcp/TCP"] < 40 {
		t.Errorf("weak test: %v", counts)
	}
}
