package decode_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

// tunnelBenchPackets: the same 1400-byte inner segment bare and in each
// encapsulation gopacket's DecodingLayerParser also decodes (its ERSPAN II and
// MPLS layers are not DecodingLayers).
func tunnelBenchPackets() []struct {
	name string
	data []byte
} {
	p := basic
	p.payload = bytes.Repeat([]byte("x"), 1400)
	seg := p.bytes()
	setTCPSum4(in4a, in4b, seg)
	inner := ip4Spec{src: in4a, dst: in4b, proto: 6, id: 7}.bytes(seg)
	eth := ether(0x0800, inner)
	return []struct {
		name string
		data []byte
	}{
		{"bare", eth},
		{"vxlan", ether(0x0800, outer4(17, udpHdr(51000, 4789, cat(vxlanHdr(5569041), eth))))},
		{"geneve", ether(0x0800, outer4(17, udpHdr(51000, 6081, cat(geneveHdr(0x6558, 7, 2), eth))))},
		{"gre", ether(0x0800, outer4(47, cat(greHdr(0x2000, 0x0800, 9), inner)))},
		{"mpls", ether(0x8847, cat(mplsLabels(254, 99), inner))},
		{"gtpu", ether(0x0800, outer4(17, udpHdr(2152, 2152, gtpHdr(0xb2b7, inner))))},
		{"erspan2", ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x88be, 0), erspan2Hdr(5), eth)))},
	}
}

func BenchmarkTunnelDecode(b *testing.B) {
	for _, c := range tunnelBenchPackets() {
		b.Run(c.name, func(b *testing.B) {
			d := decode.New(decode.Config{})
			var seg reassembly.Segment
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if r, _ := d.Decode(decode.LinkEthernet, c.data, len(c.data), 1, &seg); r != decode.ResultTCP {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkTunnelGopacketDLP decodes the same frames with gopacket's
// DecodingLayerParser (each layer type decoded into one reused value, so
// the last one holds the innermost header) and copies the TCP fields into
// a Segment, for comparison with BenchmarkTunnelDecode.
func BenchmarkTunnelGopacketDLP(b *testing.B) {
	for _, c := range tunnelBenchPackets() {
		if c.name == "erspan2" || c.name == "mpls" {
			continue // gopacket's ERSPANII and MPLS are not DecodingLayers
		}
		b.Run(c.name, func(b *testing.B) {
			var (
				eth     layers.Ethernet
				ip4     layers.IPv4
				udp     layers.UDP
				vxlan   layers.VXLAN
				geneve  layers.Geneve
				gre     layers.GRE
				gtp     layers.GTPv1U
				tcp     layers.TCP
				payload gopacket.Payload
			)
			parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp, &vxlan, &geneve, &gre, &gtp, &tcp, &payload)
			parser.IgnoreUnsupported = true
			decoded := make([]gopacket.LayerType, 0, 16)
			var seg reassembly.Segment
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := parser.DecodeLayers(c.data, &decoded); err != nil {
					b.Fatal(err)
				}
				seg = reassembly.Segment{WScale: -1}
				for _, l := range decoded {
					if l == layers.LayerTypeTCP {
						copy(seg.Src[12:], ip4.SrcIP)
						copy(seg.Dst[12:], ip4.DstIP)
						seg.SrcPort, seg.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
						seg.Seq, seg.Ack = reassembly.Seq(tcp.Seq), reassembly.Seq(tcp.Ack)
						seg.Window, seg.Urgent = tcp.Window, tcp.Urgent
						seg.Payload = tcp.Payload
					}
				}
				if seg.SrcPort == 0 || len(seg.Payload) != 1400 {
					b.Fatalf("no TCP: %v", decoded)
				}
			}
		})
	}
}
