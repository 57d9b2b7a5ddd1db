package decode_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

// benchPackets are Ethernet frames: name -> frame.
func benchPackets() []struct {
	name string
	data []byte
} {
	p := basic
	p.payload = bytes.Repeat([]byte("x"), 1400)
	s6 := p.bytes()
	setTCPSum6(a6, b6, s6)
	ack := basic
	ack.payload = nil
	ack.opts = []byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}
	return []struct {
		name string
		data []byte
	}{
		{"ipv4", ether(0x0800, tcp4(p))},
		{"ipv4-ack", ether(0x0800, tcp4(ack))},
		{"vlan2", ether(0x0800, tcp4(p), 0x88a8_0064, 0x8100_00c8)},
		{"ipv6", ether(0x86dd, ip6(6, -1, s6))},
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchPackets() {
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
	b.Run("ipv4-checksum", func(b *testing.B) {
		data := benchPackets()[0].data
		d := decode.New(decode.Config{VerifyChecksums: true})
		var seg reassembly.Segment
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if r, _ := d.Decode(decode.LinkEthernet, data, len(data), 1, &seg); r != decode.ResultTCP {
				b.Fatal(r)
			}
		}
	})
	b.Run("corpus", func(b *testing.B) {
		pkts := corpusPackets(b)
		d := decode.New(decode.Config{})
		var seg reassembly.Segment
		b.ReportAllocs()
		b.ResetTimer()
		n := 0
		for b.Loop() {
			for _, p := range pkts {
				d.Decode(p.Link, p.Data, p.OrigLen, p.TS, &seg)
			}
			n += len(pkts)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
	})
}

// BenchmarkGopacketDLP decodes the same frames with gopacket's
// DecodingLayerParser (Ethernet, Dot1Q, IPv4, IPv6, TCP, Payload) and copies
// the TCP fields into a Segment, for comparison with BenchmarkDecode.
func BenchmarkGopacketDLP(b *testing.B) {
	for _, c := range benchPackets() {
		b.Run(c.name, func(b *testing.B) {
			var (
				eth     layers.Ethernet
				dot1q   layers.Dot1Q
				ip4     layers.IPv4
				ip6     layers.IPv6
				tcp     layers.TCP
				payload gopacket.Payload
			)
			parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &payload)
			parser.IgnoreUnsupported = true
			decoded := make([]gopacket.LayerType, 0, 8)
			var seg reassembly.Segment
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if err := parser.DecodeLayers(c.data, &decoded); err != nil {
					b.Fatal(err)
				}
				seg = reassembly.Segment{WScale: -1}
				for _, l := range decoded {
					switch l {
					case layers.LayerTypeDot1Q:
						seg.VLANs.Push(dot1q.VLANIdentifier)
					case layers.LayerTypeIPv4:
						copy(seg.Src[12:], ip4.SrcIP)
						copy(seg.Dst[12:], ip4.DstIP)
					case layers.LayerTypeIPv6:
						copy(seg.Src[:], ip6.SrcIP)
						copy(seg.Dst[:], ip6.DstIP)
						seg.V6 = true
					case layers.LayerTypeTCP:
						seg.SrcPort, seg.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
						seg.Seq, seg.Ack = reassembly.Seq(tcp.Seq), reassembly.Seq(tcp.Ack)
						seg.Window, seg.Urgent = tcp.Window, tcp.Urgent
						seg.Payload = tcp.Payload
					}
				}
				if seg.SrcPort == 0 {
					b.Fatal("no TCP")
				}
			}
		})
	}
}

// fragBench is a 1400-byte TCP segment in 4 IPv4 fragments.
func fragBench() [][]byte {
	p := basic
	p.payload = bytes.Repeat([]byte("f"), 1400)
	return fragments4(tcp4(p), 360)
}

// BenchmarkFragments reassembles a datagram of 4 fragments per op.
func BenchmarkFragments(b *testing.B) {
	fr := fragBench()
	d := decode.New(decode.Config{})
	var seg reassembly.Segment
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range fr {
			if r, _ := d.Decode(decode.LinkIPv4, f, len(f), 1, &seg); (r == decode.ResultTCP) != (i == len(fr)-1) {
				b.Fatal(r)
			}
		}
	}
}

// BenchmarkGopacketIP4Defrag does the same with gopacket's ip4defrag, which
// needs a fresh layers.IPv4 per fragment (it keeps them) and allocates its
// lists and the reassembled layer: why the Decoder has its own.
func BenchmarkGopacketIP4Defrag(b *testing.B) {
	fr := fragBench()
	d := ip4defrag.NewIPv4Defragmenter()
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range fr {
			ip := new(layers.IPv4)
			if err := ip.DecodeFromBytes(f, gopacket.NilDecodeFeedback); err != nil {
				b.Fatal(err)
			}
			out, err := d.DefragIPv4(ip)
			if err != nil || (out != nil) != (i == len(fr)-1) {
				b.Fatal(err)
			}
		}
	}
}
