package decode_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

func mapped(a [4]byte) [16]byte { return netip.AddrFrom4(a).As16() }

func TestTunnels(t *testing.T) {
	s6 := basic.bytes()
	setTCPSum6(a6, b6, s6)
	in6 := ip6(6, -1, s6) // inner IPv6 a6 -> b6
	inner := innerTCP4()
	eth := innerEther()
	ayiya := cat([]byte{0x41, 0x52, 0x21, 41, 0, 0, 0, 1}, make([]byte, 16+20), in6)
	nested := func(n int) []byte { // n IPv4-in-IPv4 layers around inner
		p := inner
		for range n {
			p = outer4(4, p)
		}
		return ether(0x0800, p)
	}
	deep := outer4(47, cat(greHdr(0, 0x8864, 0), pppoeHdr(3, 0x21, inner)))
	deep = outer4(17, udpHdr(2152, 2152, gtpHdr(1, deep)))
	deep = ether(0x8847, cat(mplsLabels(5), deep))
	deep = ether(0x0800, outer4(17, udpHdr(9, 4789, cat(vxlanHdr(77), deep))))
	cases := []struct {
		name  string
		cfg   decode.Config
		frame []byte // Ethernet
		chain string
		v6    bool     // inner is in6 (else inner, 10.1.0.1 -> 10.1.0.2)
		vlans []uint16 // all tags, outer first
	}{
		{"mpls-2-labels-ipv4", decode.Config{}, ether(0x8847, cat(mplsLabels(254, 99), inner)), "mpls(label=99)", false, nil},
		{"mpls-explicit-null-v4", decode.Config{}, ether(0x8847, cat(mplsLabels(0), inner)), "mpls(label=0)", false, nil},
		{"mpls-ipv6-under-vlan", decode.Config{}, ether(0x8847, cat(mplsLabels(16106), in6), 0x8100_0c7f), "mpls(label=16106)", true, []uint16{0xc7f}},
		{"mpls-eth-control-word", decode.Config{}, ether(0x8848, cat(mplsLabels(1000), []byte{0, 0, 0, 9}, eth)), "mpls(label=1000)", false, nil},
		{"mpls-eth-no-cw-mac-0", decode.Config{}, ether(0x8847, cat(mplsLabels(1000), eth)), "mpls(label=1000)", false, nil},
		{"mpls-eth-no-cw-mac-a", decode.Config{}, ether(0x8847, cat(mplsLabels(1000), []byte{0xa0}, eth[1:])), "mpls(label=1000)", false, nil},
		{"pppoe-qinq", decode.Config{}, ether(0x8864, pppoeHdr(0x0f07, 0x0021, inner), 0x8100_0e78, 0x8100_09aa), "pppoe(session=0x0f07)", false, []uint16{3704, 2474}},
		{"pppoe-ipv6-padded", decode.Config{}, ether(0x8864, cat(pppoeHdr(0x2d, 0x0057, in6), make([]byte, 6))), "pppoe(session=0x002d)", true, nil},
		{"gre-ipv4", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0, 0x0800, 0), inner))), "gre", false, nil},
		{"gre-csum-key-seq-teb", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0xb000, 0x6558, 0x02000000), eth))), "gre(key=0x02000000)", false, nil},
		{"gre-key-ipv6", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0x2000, 0x86dd, 5), in6))), "gre(key=0x00000005)", true, nil},
		{"gre-over-ipv6", decode.Config{}, ether(0x86dd, ip6(47, -1, cat(greHdr(0, 0x0800, 0), inner))), "gre", false, nil},
		{"gre-mpls", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0, 0x8847, 0), mplsLabels(100), inner))), "gre/mpls(label=100)", false, nil},
		{"erspan1", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0, 0x88be, 0), eth))), "gre/erspan1", false, nil},
		{"erspan2", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x88be, 0), erspan2Hdr(5), eth))), "gre/erspan2(session=5)", false, nil},
		{"erspan3-subheader", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x22eb, 0), erspan3Hdr(7, 0, true), eth))), "gre/erspan3(session=7)", false, nil},
		{"erspan3-ip", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x22eb, 0), erspan3Hdr(1023, 2, false), inner))), "gre/erspan3(session=1023)", false, nil},
		{"vxlan", decode.Config{}, ether(0x0800, outer4(17, udpHdr(51000, 4789, cat(vxlanHdr(5569041), eth)))), "vxlan(vni=5569041)", false, nil},
		{"vxlan-inner-vlan", decode.Config{}, ether(0x0800, outer4(17, udpHdr(51000, 4789, cat(vxlanHdr(1), ether(0x0800, inner, 0x8100_0007)))), 0x8100_0005), "vxlan(vni=1)", false, []uint16{5, 7}},
		{"vxlan-source-port", decode.Config{}, ether(0x0800, outer4(17, udpHdr(4789, 4790, cat(vxlanHdr(2), eth)))), "vxlan(vni=2)", false, nil},
		{"pppoe-compressed-protocol", decode.Config{}, ether(0x8864, cat([]byte{0x11, 0, 0, 0x2d, 0, byte(1 + len(inner)), 0x21}, inner)), "pppoe(session=0x002d)", false, nil},
		{"vxlan-port-option", decode.Config{VXLANPorts: []uint16{8472}}, ether(0x0800, outer4(17, udpHdr(51000, 8472, cat(vxlanHdr(3), eth)))), "vxlan(vni=3)", false, nil},
		{"geneve-options", decode.Config{}, ether(0x0800, outer4(17, udpHdr(1, 6081, cat(geneveHdr(0x6558, 0x0c012e, 5), eth)))), "geneve(vni=786734)", false, nil},
		{"geneve-ipv4", decode.Config{}, ether(0x0800, outer4(17, udpHdr(1, 6081, cat(geneveHdr(0x0800, 10, 0), inner)))), "geneve(vni=10)", false, nil},
		{"ipv4-in-ipv4", decode.Config{}, ether(0x0800, outer4(4, inner)), "ipip", false, nil},
		{"ipv6-in-ipv4", decode.Config{}, ether(0x0800, outer4(41, in6)), "ipip", true, nil},
		{"ipv4-in-ipv6", decode.Config{}, ether(0x86dd, ip6(4, -1, inner)), "ipip", false, nil},
		{"ipv4-in-ipv6-after-dstopts", decode.Config{}, ether(0x86dd, ip6(60, -1, cat(ext6(4, nil), inner))), "ipip", false, nil},
		{"teredo-3544", decode.Config{}, ether(0x0800, outer4(17, udpHdr(3544, 40000, in6))), "teredo", true, nil},
		{"teredo-relay-origin", decode.Config{}, ether(0x0800, outer4(17, udpHdr(3797, 32900, cat([]byte{0, 0, 1, 2, 3, 4, 5, 6}, in6)))), "teredo", true, nil},
		{"teredo-auth", decode.Config{}, ether(0x0800, outer4(17, udpHdr(3544, 3544, cat([]byte{0, 1, 2, 1, 'i', 'd', 'a'}, make([]byte, 9), in6)))), "teredo", true, nil},
		{"gtpu", decode.Config{}, ether(0x0800, outer4(17, udpHdr(2152, 2152, gtpHdr(0xb2b7, inner)))), "gtpu(teid=0x0000b2b7)", false, nil},
		{"gtpu-extensions-ipv6", decode.Config{}, ether(0x0800, outer4(17, udpHdr(2152, 2152, gtpHdr(0x6f84e481, in6, []byte{1, 9, 9, 0x85}, []byte{2, 1, 2, 3, 4, 5, 6, 0})))), "gtpu(teid=0x6f84e481)", true, nil},
		{"gre-in-udp", decode.Config{}, ether(0x0800, outer4(17, udpHdr(1234, 4754, cat(greHdr(0, 0x0800, 0), inner)))), "gre-udp/gre", false, nil},
		{"ayiya", decode.Config{}, ether(0x0800, outer4(17, udpHdr(5072, 5072, ayiya))), "ayiya", true, nil},
		{"erspan2-vxlan", decode.Config{}, ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x88be, 0), erspan2Hdr(20),
			ether(0x0800, outer4(17, udpHdr(9, 4789, cat(vxlanHdr(0), eth))))))), "gre/erspan2(session=20)/vxlan(vni=0)", false, nil},
		{"vxlan-mpls-gtpu-gre-pppoe", decode.Config{}, deep, "vxlan(vni=77)/mpls(label=5)/gtpu(teid=0x00000001)/gre/pppoe(session=0x0003)", false, nil},
		{"depth-8", decode.Config{}, nested(8), "ipip/ipip/ipip/ipip/ipip/ipip/ipip/ipip", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []bool{false, true} {
				cfg := tc.cfg
				cfg.TunnelKey = key
				d := decode.New(cfg)
				seg := mustTCP(t, d, decode.LinkEthernet, tc.frame, len(tc.frame))
				checkBasicTCP(t, seg)
				if got := d.Tunnel().String(); got != tc.chain {
					t.Errorf("chain %q, want %q", got, tc.chain)
				}
				src, dst := mapped(in4a), mapped(in4b)
				if tc.v6 {
					src, dst = a6, b6
				}
				if seg.Src != src || seg.Dst != dst || seg.V6 != tc.v6 {
					t.Errorf("addresses %v -> %v v6 %v", netip.AddrFrom16(seg.Src), netip.AddrFrom16(seg.Dst), seg.V6)
				}
				if !equalU16(seg.VLANs.Slice(), tc.vlans) {
					t.Errorf("vlans %v, want %v", seg.VLANs.Slice(), tc.vlans)
				}
				st := d.Stats()
				if st.Tunnelled != 1 {
					t.Errorf("Tunnelled %d", st.Tunnelled)
				}
				var layers uint64
				for _, n := range st.TunnelLayers {
					layers += n
				}
				if layers != uint64(d.Tunnel().N) {
					t.Errorf("TunnelLayers %v for %d layers", st.TunnelLayers, d.Tunnel().N)
				}
				if h := d.Tunnel().Hash(); h == 0 || (key && seg.Tunnel != h) || (!key && seg.Tunnel != 0) {
					t.Errorf("TunnelKey %v: seg.Tunnel %#x, chain hash %#x", key, seg.Tunnel, h)
				}
			}
		})
	}
}

// TestTunnelNotTCPAndMalformed: every header's bad or cut forms, and
// packets on tunnel ports that carry no TCP.
func TestTunnelNotTCPAndMalformed(t *testing.T) {
	inner := innerTCP4()
	eth := innerEther()
	gre := func(b []byte) []byte { return ether(0x0800, outer4(47, b)) }
	udp := func(sp, dp uint16, b []byte) []byte { return ether(0x0800, outer4(17, udpHdr(sp, dp, b))) }
	var noBottom []byte
	for range 16 {
		noBottom = binary.BigEndian.AppendUint32(noBottom, 100<<12)
	}
	gtpEcho := gtpHdr(1, nil)
	gtpEcho[1] = 1
	badVer := erspan2Hdr(1)
	badVer[0] = 0x20
	vxNoI := vxlanHdr(1)
	vxNoI[0] = 0
	gen1 := geneveHdr(0x6558, 1, 0)
	gen1[0] = 0x40
	lcp := pppoeHdr(1, 0xc021, make([]byte, 10))
	badPPPoE := pppoeHdr(1, 0x21, inner)
	badPPPoE[0] = 0x12
	cases := []struct {
		name  string
		frame []byte
		cut   int // bytes the capture cut after the frame
		res   decode.Result
		why   decode.Reason
	}{
		{"mpls-no-bottom", ether(0x8847, cat(noBottom, inner)), 0, decode.ResultMalformed, decode.ReasonMPLS},
		{"mpls-short", ether(0x8847, []byte{0, 1}), 0, decode.ResultMalformed, decode.ReasonMPLS},
		{"mpls-snap-cut", ether(0x8847, []byte{0, 1}), 100, decode.ResultMalformed, decode.ReasonIPTruncated},
		{"mpls-no-payload", ether(0x8847, mplsLabels(77)), 0, decode.ResultMalformed, decode.ReasonMPLS},
		{"mpls-inner-ether-cut", ether(0x8847, cat(mplsLabels(77), []byte{0xa0, 1, 2})), 0, decode.ResultMalformed, decode.ReasonLinkTruncated},
		{"pppoe-short", ether(0x8864, []byte{0x11, 0, 0, 1}), 0, decode.ResultMalformed, decode.ReasonPPPoE},
		{"pppoe-version", ether(0x8864, badPPPoE), 0, decode.ResultMalformed, decode.ReasonPPPoE},
		{"pppoe-lcp", ether(0x8864, lcp), 0, decode.ResultNotTCP, 0},
		{"pppoe-discovery", ether(0x8863, lcp), 0, decode.ResultNotTCP, 0},
		{"gre-short", gre([]byte{0, 0}), 0, decode.ResultMalformed, decode.ReasonGRE},
		{"gre-routing", gre(cat([]byte{0x40, 0, 8, 0}, inner)), 0, decode.ResultMalformed, decode.ReasonGRE},
		{"gre-key-cut", gre([]byte{0x20, 0, 8, 0, 1, 2}), 0, decode.ResultMalformed, decode.ReasonGRE},
		{"gre-pptp", gre(cat([]byte{0x30, 0x81, 0x88, 0x0b}, make([]byte, 12))), 0, decode.ResultNotTCP, 0},
		{"gre-arp", gre(cat(greHdr(0, 0x0806, 0), make([]byte, 28))), 0, decode.ResultNotTCP, 0},
		{"erspan2-version", gre(cat(greHdr(0x1000, 0x88be, 0), badVer, eth)), 0, decode.ResultMalformed, decode.ReasonERSPAN},
		{"erspan2-short", gre(cat(greHdr(0x1000, 0x88be, 0), []byte{0x10, 0})), 0, decode.ResultMalformed, decode.ReasonERSPAN},
		{"erspan3-subheader-cut", gre(cat(greHdr(0x1000, 0x22eb, 0), erspan3Hdr(1, 0, true)[:14])), 0, decode.ResultMalformed, decode.ReasonERSPAN},
		{"erspan3-frame-type-1", gre(cat(greHdr(0x1000, 0x22eb, 0), erspan3Hdr(1, 1, false), eth)), 0, decode.ResultNotTCP, 0},
		{"vxlan-no-i-flag", udp(1, 4789, cat(vxNoI, eth)), 0, decode.ResultMalformed, decode.ReasonVXLAN},
		{"vxlan-short", udp(1, 4789, []byte{8, 0, 0}), 0, decode.ResultMalformed, decode.ReasonVXLAN},
		{"vxlan-inner-ether-cut", udp(1, 4789, cat(vxlanHdr(1), eth[:10])), 0, decode.ResultMalformed, decode.ReasonLinkTruncated},
		{"vxlan-arp", udp(1, 4789, cat(vxlanHdr(1), ether(0x0806, make([]byte, 28)))), 0, decode.ResultNotTCP, 0},
		{"geneve-version", udp(1, 6081, cat(gen1, eth)), 0, decode.ResultMalformed, decode.ReasonGENEVE},
		{"geneve-options-cut", udp(1, 6081, geneveHdr(0x6558, 1, 4)[:12]), 0, decode.ResultMalformed, decode.ReasonGENEVE},
		{"gtp-echo", udp(2152, 2152, gtpEcho), 0, decode.ResultNotTCP, 0},
		{"gtp-v2", udp(2152, 2152, cat([]byte{0x48, 0xff, 0, 4}, make([]byte, 8))), 0, decode.ResultNotTCP, 0},
		{"gtp-short", udp(2152, 2152, []byte{0x30, 0xff, 0}), 0, decode.ResultMalformed, decode.ReasonGTP},
		{"gtp-ext-zero-length", udp(2152, 2152, gtpHdr(1, inner, []byte{0, 0, 0, 0})), 0, decode.ResultMalformed, decode.ReasonGTP},
		{"gtp-ext-past-end", udp(2152, 2152, gtpHdr(1, nil, []byte{9, 0, 0, 0})), 0, decode.ResultMalformed, decode.ReasonGTP},
		{"gtp-not-ip", udp(2152, 2152, gtpHdr(1, []byte{0x10, 0, 0, 0})), 0, decode.ResultNotTCP, 0},
		{"ayiya-short", udp(5072, 1, []byte{0x41, 0x52, 0x21, 41, 0, 0, 0, 1, 0}), 0, decode.ResultMalformed, decode.ReasonAYIYA},
		{"ayiya-heartbeat", udp(5072, 1, cat([]byte{0x41, 0x52, 0x20, 59, 0, 0, 0, 1}, make([]byte, 36))), 0, decode.ResultNotTCP, 0},
		{"udp-dns", udp(53, 1024, make([]byte, 30)), 0, decode.ResultNotTCP, 0},
		{"udp-short", ether(0x0800, outer4(17, []byte{0, 53, 0})), 0, decode.ResultNotTCP, 0},
		{"teredo-wrong-length", udp(1000, 2000, cat(innerTCP4()[:0], ip6(6, 500, make([]byte, 20)))), 0, decode.ResultNotTCP, 0},
		{"teredo-bubble", udp(3544, 2000, ip6(59, 0, nil)), 0, decode.ResultNotTCP, 0},
		{"depth-9", func() []byte {
			p := inner
			for range 9 {
				p = outer4(4, p)
			}
			return ether(0x0800, p)
		}(), 0, decode.ResultMalformed, decode.ReasonTunnelDepth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decode.New(decode.Config{})
			var seg reassembly.Segment
			res, why := d.Decode(decode.LinkEthernet, tc.frame, len(tc.frame)+tc.cut, 1, &seg)
			if res != tc.res || why != tc.why {
				t.Fatalf("Decode = %v %v, want %v %v", res, why, tc.res, tc.why)
			}
			checkInvariants(t, d)
		})
	}
	t.Run("teredo-heuristic-off", func(t *testing.T) {
		s6 := basic.bytes()
		setTCPSum6(a6, b6, s6)
		f := udp(3797, 32900, ip6(6, -1, s6))
		d := decode.New(decode.Config{NoTeredoHeuristic: true})
		var seg reassembly.Segment
		if res, _ := d.Decode(decode.LinkEthernet, f, len(f), 1, &seg); res != decode.ResultNotTCP {
			t.Fatalf("got %v", res)
		}
		if res, _ := decode.New(decode.Config{}).Decode(decode.LinkEthernet, f, len(f), 1, &seg); res != decode.ResultTCP {
			t.Fatalf("heuristic on: got %v", res)
		}
	})
}

// TestTunnelFragments: outer IPv4 fragments are reassembled before the
// tunnel is opened (GRE, UDP/GTP-U), and an inner datagram fragmented
// inside a tunnel is reassembled too, its pieces arriving in separate
// tunnel packets.
func TestTunnelFragments(t *testing.T) {
	big := basic
	big.payload = bytes.Repeat([]byte("0123456789"), 30)
	seg := big.bytes()
	setTCPSum4(in4a, in4b, seg)
	inner := ip4Spec{src: in4a, dst: in4b, proto: 6, id: 7}.bytes(seg)
	for _, tc := range []struct {
		name  string
		outer []byte // IPv4
		chain string
	}{
		{"gre-teb-key", outer4(47, cat(greHdr(0x2000, 0x6558, 2), ether(0x0800, inner))), "gre(key=0x00000002)"},
		{"gtpu", outer4(17, udpHdr(2152, 2152, gtpHdr(0x8c61be36, inner))), "gtpu(teid=0x8c61be36)"},
		{"ipip", outer4(4, inner), "ipip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFragRun(t, decode.Config{})
			fr := fragments4(tc.outer, 64)
			for i := len(fr) - 1; i > 0; i-- { // last first: order must not matter
				r.want(decode.LinkEthernet, ether(0x0800, fr[i]), 0, decode.ResultFragment, 0)
			}
			r.want(decode.LinkEthernet, ether(0x0800, fr[0]), 0, decode.ResultTCP, 0)
			if !bytes.Equal(r.seg.Payload, big.payload) || r.seg.Src != mapped(in4a) {
				t.Fatalf("segment %+v", r.seg)
			}
			if got := r.d.Tunnel().String(); got != tc.chain {
				t.Errorf("chain %q, want %q", got, tc.chain)
			}
		})
	}
	t.Run("inner-fragments-in-vxlan", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		fr := fragments4(inner, 128)
		for i, f := range fr {
			res := decode.ResultFragment
			if i == len(fr)-1 {
				res = decode.ResultTCP
			}
			r.want(decode.LinkEthernet, ether(0x0800, outer4(17, udpHdr(7, 4789, cat(vxlanHdr(9), ether(0x0800, f))))), 0, res, 0)
		}
		if !bytes.Equal(r.seg.Payload, big.payload) {
			t.Fatalf("payload %q", r.seg.Payload)
		}
	})
	t.Run("fragmented-inside-fragmented", func(t *testing.T) {
		// The inner datagram's two fragments, each in an outer datagram
		// that is itself fragmented.
		r := newFragRun(t, decode.Config{})
		in := fragments4(inner, 160)
		var got decode.Result
		for i, f := range in {
			o := ip4Spec{src: a4, dst: b4, proto: 4, id: uint16(200 + i)}.bytes(f)
			for _, of := range fragments4(o, 48) {
				got, _ = r.feed(decode.LinkEthernet, ether(0x0800, of), 0)
			}
		}
		if got != decode.ResultTCP || !bytes.Equal(r.seg.Payload, big.payload) {
			t.Fatalf("got %v %q", got, r.seg.Payload)
		}
		if st := r.d.Stats(); st.FragReassembled != 3 || st.FragPending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestTunnelAllocs(t *testing.T) {
	inner := innerTCP4()
	eth := innerEther()
	pkts := [][]byte{
		ether(0x0800, outer4(17, udpHdr(51000, 4789, cat(vxlanHdr(5569041), eth)))),
		ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x88be, 0), erspan2Hdr(5), eth))),
		ether(0x8847, cat(mplsLabels(254, 99), inner)),
		ether(0x0800, outer4(17, udpHdr(2152, 2152, gtpHdr(0xb2b7, inner)))),
	}
	d := decode.New(decode.Config{TunnelKey: true, VerifyChecksums: true})
	var seg reassembly.Segment
	run := func() {
		for _, p := range pkts {
			if r, why := d.Decode(decode.LinkEthernet, p, len(p), 1, &seg); r != decode.ResultTCP {
				t.Fatal(r, why)
			}
		}
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

func TestChainText(t *testing.T) {
	var c decode.Chain
	if c.String() != "" || c.Hash() != 0 {
		t.Fatalf("empty chain %q %#x", c.String(), c.Hash())
	}
	c.Layers[0] = decode.Layer{Kind: decode.TunnelGRE, HasID: true, ID: 0x02000000}
	c.Layers[1] = decode.Layer{Kind: decode.TunnelVXLAN, HasID: true, ID: 5}
	c.N = 2
	if got := c.String(); got != "gre(key=0x02000000)/vxlan(vni=5)" {
		t.Errorf("text %q", got)
	}
	h := c.Hash()
	c.Layers[1].ID = 6
	if c.Hash() == h {
		t.Error("hash ignores the VNI")
	}
	c.Layers[1].ID = 5
	c.Layers[0].HasID = false
	if c.Hash() == h || c.String() != "gre/vxlan(vni=5)" {
		t.Errorf("key-less GRE: %q %#x", c.String(), c.Hash())
	}
	seen := map[string]bool{}
	for k := decode.TunnelKind(0); k < decode.NumTunnelKinds; k++ {
		if n := k.String(); n == "tunnel?" || seen[n] {
			t.Errorf("kind %d name %q", k, n)
		} else {
			seen[n] = true
		}
	}
}

func TestTunnelNames(t *testing.T) {
	names := decode.NewTunnelNames()
	eth := innerEther()
	f := ether(0x0800, outer4(17, udpHdr(1, 4789, cat(vxlanHdr(7), eth))))
	g := ether(0x0800, outer4(47, cat(greHdr(0x2000, 0x6558, 0x02000000), eth)))
	d1 := decode.New(decode.Config{TunnelKey: true, Names: names})
	d2 := decode.New(decode.Config{TunnelKey: true, Names: names})
	s1 := mustTCP(t, d1, decode.LinkEthernet, f, len(f))
	s2 := mustTCP(t, d2, decode.LinkEthernet, g, len(g))
	s3 := mustTCP(t, d2, decode.LinkEthernet, f, len(f))
	if s1.Tunnel != s3.Tunnel || s1.Tunnel == s2.Tunnel {
		t.Fatalf("tunnel ids %#x %#x %#x", s1.Tunnel, s2.Tunnel, s3.Tunnel)
	}
	for _, c := range []struct {
		h    uint32
		want string
	}{{s1.Tunnel, "vxlan(vni=7)"}, {s2.Tunnel, "gre(key=0x02000000)"}} {
		if n, ok := names.Name(c.h); !ok || n != c.want || string(names.AppendName(nil, c.h)) != c.want {
			t.Errorf("name of %#x: %q %v, want %q", c.h, n, ok, c.want)
		}
	}
	if got := string(names.AppendName(nil, 0xabc)); got != "0xabc" {
		t.Errorf("unknown: %q", got)
	}
	var none *decode.TunnelNames
	if got := string(none.AppendName(nil, 0x12)); got != "0x12" {
		t.Errorf("nil names: %q", got)
	}
	// Registering allocates once per chain and Decoder, not per packet.
	if n := testing.AllocsPerRun(100, func() { mustTCP(t, d1, decode.LinkEthernet, f, len(f)) }); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}
