package decode_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// corpusPackets reads every packet of the test captures.
func corpusPackets(tb testing.TB) []pcapfile.Packet {
	tb.Helper()
	files, err := filepath.Glob("../../testdata/decode/*.pcap*")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no test captures: %v", err)
	}
	var out []pcapfile.Packet
	for _, f := range files {
		r, err := pcapfile.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		batch := make([]pcapfile.Packet, 64)
		for {
			n, err := r.ReadBatch(batch)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tb.Fatal(err)
			}
			for _, p := range batch[:n] {
				p.Data = append([]byte(nil), p.Data...)
				out = append(out, p)
			}
		}
	}
	return out
}

// extraSeeds are synthetic Ethernet frames for paths the captures miss.
func extraSeeds() [][]byte {
	s6 := basic.bytes()
	setTCPSum6(a6, b6, s6)
	syn := basic
	syn.flags = 0x02
	syn.opts = []byte{2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2}
	ah := make([]byte, 24)
	ah[0], ah[1] = 6, 4
	jumbo := ext6(6, binary.BigEndian.AppendUint32([]byte{0xc2, 4}, uint32(8+len(s6))))
	return [][]byte{
		ether(0x0800, tcp4(syn), 0x88a8_0001, 0x8100_0002, 0x9100_0003),
		ether(0x86dd, ip6(0, -1, cat(ext6(43, nil), ext6(60, nil), ext6(6, nil), s6))),
		ether(0x86dd, ip6(51, -1, cat(ah, s6))),
		ether(0x86dd, ip6(0, 0, cat(jumbo, s6))),
		ether(0x86dd, ip6(44, -1, cat([]byte{6, 0, 0, 0, 0, 0, 0, 1}, s6))),
		ether(0x0800, ip4Spec{src: a4, dst: b4, proto: 6, opts: []byte{1, 1, 1, 0}}.bytes(basic.bytes())),
		ether(0x0800, ip4Spec{src: a4, dst: b4, proto: 51}.bytes(cat(ah, basic.bytes()))),
	}
}

// FuzzDecode decodes Ethernet frames with the Decoder and with gopacket's
// layers. Where gopacket decodes Ethernet, 802.1Q tags, IPv4 or IPv6 (with
// hop-by-hop, routing, destination options or AH headers) and TCP without
// an error, the Decoder must find the same segment.
//
// Intentional differences (not compared): the Decoder checks the IP
// version nibble against the Ethernet type and rejects a mismatch,
// gopacket does not; the Decoder reassembles fragments (gopacket stops at
// a fragment) and decodes IPv6 atomic fragments; it takes TPID 0x9100 as a
// VLAN tag and IPv6 payload length 0 without a Jumbo option as a TSO
// packet, where gopacket stops; it does not decode 802.3 LLC/SNAP; its
// tunnels (MPLS, PPPoE, GRE, IP-in-IP, VXLAN, ...) are not compared here
// (FuzzTunnel checks them); and it keeps a segment whose TCP options the capture cut,
// where gopacket reports an error. gopacket also takes Ethernet type
// 0xffff (its internal EthernetTypeRaw) as raw IP; the Decoder does not.
func FuzzDecode(f *testing.F) {
	for _, p := range corpusPackets(f) {
		if p.Link == decode.LinkEthernet && len(p.Data) < 4096 {
			f.Add(p.Data)
		}
	}
	for _, s := range extraSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := decode.New(decode.Config{})
		var seg reassembly.Segment
		res, why := d.Decode(decode.LinkEthernet, data, len(data), 1, &seg)

		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
		if pkt.ErrorLayer() != nil {
			return
		}
		tl, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			return
		}
		var vlans []uint16
		var src, dst []byte
		for _, l := range pkt.Layers() {
			switch l := l.(type) {
			case *layers.IPv6HopByHop, *layers.IPv6Routing, *layers.IPv6Destination, *layers.IPSecAH:
			case *layers.Ethernet:
				if l.EthernetType == layers.EthernetTypeRaw {
					return
				}
			case *layers.Dot1Q:
				if l.Type == layers.EthernetTypeRaw {
					return
				}
				vlans = append(vlans, l.VLANIdentifier)
			case *layers.IPv4:
				if l.Version != 4 || l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0 || src != nil {
					return
				}
				src, dst = l.SrcIP.To16(), l.DstIP.To16()
			case *layers.IPv6:
				if l.Version != 6 || src != nil {
					return
				}
				src, dst = l.SrcIP, l.DstIP
			case *layers.TCP:
				goto compare
			default:
				return // LLC, MPLS, tunnels, fragments, ...
			}
		}
	compare:
		if res != decode.ResultTCP {
			t.Fatalf("gopacket decodes TCP, Decoder says %v %v\n%s", res, why, pkt.Dump())
		}
		if len(vlans) > reassembly.MaxVLANs {
			vlans = vlans[:reassembly.MaxVLANs]
		}
		flags := reassembly.Flags(0)
		for i, b := range []bool{tl.FIN, tl.SYN, tl.RST, tl.PSH, tl.ACK, tl.URG, tl.ECE, tl.CWR, tl.NS} {
			if b {
				flags |= 1 << i
			}
		}
		if seg.SrcPort != uint16(tl.SrcPort) || seg.DstPort != uint16(tl.DstPort) ||
			uint32(seg.Seq) != tl.Seq || uint32(seg.Ack) != tl.Ack || seg.Flags != flags ||
			seg.Window != tl.Window || seg.Urgent != tl.Urgent ||
			!bytes.Equal(seg.Payload, tl.LayerPayload()) ||
			!bytes.Equal(seg.Src[:], src) || !bytes.Equal(seg.Dst[:], dst) ||
			!equalU16(seg.VLANs.Slice(), vlans) {
			t.Fatalf("segments differ:\nDecoder  %+v\ngopacket %s", seg, pkt.Dump())
		}
	})
}

// FuzzDecodeLinks feeds a sequence of packets of any link type to one
// Decoder (so fragment state carries over) and checks it neither panics
// nor breaks its invariants. Input: link type, a ts step, then records
// of [2-byte length][bytes].
func FuzzDecodeLinks(f *testing.F) {
	rec := func(pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		return b
	}
	for _, p := range corpusPackets(f) {
		if len(p.Data) < 4096 {
			f.Add(uint16(p.Link), uint16(1000), rec(p.Data))
		}
	}
	big := basic
	big.payload = bytes.Repeat([]byte("z"), 100)
	fr := fragments4(tcp4(big), 32)
	f.Add(uint16(decode.LinkIPv4), uint16(1), rec(fr[2], fr[0], fr[1], fr[0], fr[3]))
	s6 := basic.bytes()
	f.Add(uint16(decode.LinkIPv6), uint16(60000), rec(frag6(6, 1, 16, false, s6[16:]), frag6(6, 1, 0, true, s6[:16])))
	for _, s := range extraSeeds() {
		f.Add(uint16(decode.LinkEthernet), uint16(0), rec(s))
	}
	f.Fuzz(func(t *testing.T, link, step uint16, data []byte) {
		d := decode.New(decode.Config{VerifyChecksums: step&1 == 1, FragMaxDatagrams: 4, FragMaxFragments: 8, FragMaxBytes: 256})
		var seg reassembly.Segment
		ts := int64(0)
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			p := data[:n:n]
			data = data[n:]
			orig := len(p) + int(step%64)
			ts += int64(step) * 1e7
			res, why := d.Decode(decode.LinkType(link), p, orig, ts, &seg)
			if (res == decode.ResultMalformed) != (why != decode.ReasonNone) || why >= decode.NumReasons {
				t.Fatalf("result %v reason %v", res, why)
			}
			if res == decode.ResultTCP && (seg.Truncated < 0 || len(seg.Payload) > 1<<20 || seg.WScale > 14 || seg.TS != ts) {
				t.Fatalf("segment %+v", seg)
			}
		}
		checkInvariants(t, d)
		if st := d.Stats(); st.FragPending > 4 || st.FragPendingBytes > 256 {
			t.Fatalf("fragment limits exceeded: %+v", st)
		}
	})
}
