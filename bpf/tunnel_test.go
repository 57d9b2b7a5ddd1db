package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Builders for tunnel frames (independent of the code under test).

func ip4(proto byte, payload []byte) []byte {
	h := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	return append(h, payload...)
}

func ip6(nh byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = nh, 64
	h[8], h[9], h[23] = 0x20, 0x01, 1
	h[24], h[25], h[39] = 0x20, 0x01, 2
	return append(h, payload...)
}

func udp(sp, dp uint16, payload []byte) []byte {
	h := binary.BigEndian.AppendUint16(nil, sp)
	h = binary.BigEndian.AppendUint16(h, dp)
	h = binary.BigEndian.AppendUint16(h, uint16(8+len(payload)))
	return append(h, 0, 0)
}

func join(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func udpp(sp, dp uint16, payload []byte) []byte { return join(udp(sp, dp, payload), payload) }

// tunnelPackets are frames for every tunnel path of the kernel program.
func tunnelPackets() map[string][]byte {
	in := tcpSpec{src: ap("10.1.0.1:4000"), dst: ap("10.1.0.2:80"), flags: 0x18, payload: []byte("inner payload")}
	in6 := tcpSpec{src: ap("[2001:db8::a]:4000"), dst: ap("[2001:db8::b]:80"), flags: 0x18, payload: []byte("inner payload")}
	v4, v6 := in.ipv4(), in6.ipv6()
	eth := ether(nil, 0x0800, v4)
	eth6 := ether(nil, 0x86dd, v6)
	vx := func(inner []byte) []byte { return join([]byte{8, 0, 0, 0, 0, 0, 7, 0}, inner) }
	gre := func(flags, proto uint16, extra int, inner []byte) []byte {
		h := binary.BigEndian.AppendUint16(nil, flags)
		h = binary.BigEndian.AppendUint16(h, proto)
		return join(h, make([]byte, extra), inner)
	}
	erspan2 := []byte{0x10, 0, 0, 20, 0, 0, 0, 0}
	gtp := func(fl byte, inner []byte) []byte {
		h := []byte{fl, 0xff, 0, byte(len(inner)), 0, 0, 0xb2, 0xb7}
		return join(h, inner)
	}
	m := map[string][]byte{
		"ipip":                  ether(nil, 0x0800, ip4(4, v4)),
		"6in4":                  ether(nil, 0x0800, ip4(41, v6)),
		"4in6":                  ether(nil, 0x86dd, ip6(4, v4)),
		"4in6 after dstopts":    ether(nil, 0x86dd, ip6(60, join([]byte{4, 0, 1, 4, 0, 0, 0, 0}, v4))),
		"gre ipv4":              ether(nil, 0x0800, ip4(47, gre(0, 0x0800, 0, v4))),
		"gre key ipv6":          ether(nil, 0x0800, ip4(47, gre(0x2000, 0x86dd, 4, v6))),
		"gre csum key seq teb":  ether([]tag{{0x8100, 22}}, 0x0800, ip4(47, gre(0xb000, 0x6558, 12, eth))),
		"gre routing":           ether(nil, 0x0800, ip4(47, gre(0x4000, 0x0800, 0, v4))),
		"gre pptp":              ether(nil, 0x0800, ip4(47, gre(0x3001, 0x880b, 8, v4))),
		"gre arp":               ether(nil, 0x0800, ip4(47, gre(0, 0x0806, 0, make([]byte, 28)))),
		"erspan1":               ether(nil, 0x0800, ip4(47, gre(0, 0x88be, 0, eth))),
		"erspan2":               ether(nil, 0x0800, ip4(47, gre(0x1000, 0x88be, 4, join(erspan2, eth)))),
		"erspan2 bad version":   ether(nil, 0x0800, ip4(47, gre(0x1000, 0x88be, 4, join([]byte{0x20, 0, 0, 1, 0, 0, 0, 0}, eth)))),
		"erspan3":               ether(nil, 0x0800, ip4(47, gre(0x1000, 0x22eb, 4, join([]byte{0x20, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0}, eth)))),
		"erspan3 ip":            ether(nil, 0x0800, ip4(47, gre(0x1000, 0x22eb, 4, join([]byte{0x20, 0, 0, 1, 1, 2, 3, 4, 0, 0, 8, 0}, v6)))),
		"erspan3 subheader":     ether(nil, 0x0800, ip4(47, gre(0x1000, 0x22eb, 4, join([]byte{0x20, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 1}, make([]byte, 8), eth)))),
		"erspan3 bad version":   ether(nil, 0x0800, ip4(47, gre(0x1000, 0x22eb, 4, join([]byte{0x10, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0}, eth)))),
		"erspan3 frame type 1":  ether(nil, 0x0800, ip4(47, gre(0x1000, 0x22eb, 4, join([]byte{0x20, 0, 0, 1, 1, 2, 3, 4, 0, 0, 4, 0}, eth)))),
		"erspan2 vxlan":         ether(nil, 0x0800, ip4(47, gre(0x1000, 0x88be, 4, join(erspan2, ether(nil, 0x0800, ip4(17, udpp(4789, 4790, vx(eth)))))))),
		"three deep":            ether(nil, 0x0800, ip4(4, ip4(4, ip4(4, v4)))),
		"four deep":             ether(nil, 0x0800, ip4(4, ip4(4, ip4(4, ip4(4, v4))))),
		"two deep v6":           ether(nil, 0x86dd, ip6(41, ip6(4, v4))),
		"vxlan":                 ether(nil, 0x0800, ip4(17, udpp(51000, 4789, vx(eth)))),
		"vxlan v6 inside":       ether(nil, 0x0800, ip4(17, udpp(51000, 4789, vx(eth6)))),
		"vxlan no I flag":       ether(nil, 0x0800, ip4(17, udpp(51000, 4789, join(make([]byte, 8), eth)))),
		"vxlan inner vlan":      ether(nil, 0x0800, ip4(17, udpp(51000, 4789, vx(ether([]tag{{0x8100, 5}}, 0x0800, v4))))),
		"vxlan inner arp":       ether(nil, 0x0800, ip4(17, udpp(51000, 4789, vx(ether(nil, 0x0806, make([]byte, 28)))))),
		"vxlan inner udp":       ether(nil, 0x0800, ip4(17, udpp(51000, 4789, vx(ether(nil, 0x0800, ip4(17, udpp(53, 53, []byte{0x12, 0x34, 1, 0, 0, 1}))))))),
		"geneve opts":           ether(nil, 0x0800, ip4(17, udpp(1, 6081, join([]byte{2, 0, 0x65, 0x58, 0, 0, 1, 0}, make([]byte, 8), eth)))),
		"geneve ipv4":           ether(nil, 0x0800, ip4(17, udpp(1, 6081, join([]byte{0, 0, 8, 0, 0, 0, 1, 0}, v4)))),
		"geneve other":          ether(nil, 0x0800, ip4(17, udpp(1, 6081, join([]byte{0, 0, 0x88, 0x47, 0, 0, 1, 0}, v4)))),
		"geneve version 1":      ether(nil, 0x0800, ip4(17, udpp(1, 6081, join([]byte{0x40, 0, 0x65, 0x58, 0, 0, 1, 0}, eth)))),
		"gtpu":                  ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x30, v4)))),
		"gtpu v6":               ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x30, v6)))),
		"gtpu ext":              ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x34, join([]byte{0, 0, 0, 0}, v4))))),
		"gtpu 2 ext":            ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x34, join([]byte{0, 0, 0, 0x85, 1, 9, 9, 0x85, 2, 1, 2, 3, 4, 5, 6, 0}, v6))))),
		"gtpu 3 ext":            ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x34, join([]byte{0, 0, 0, 0x85, 1, 9, 9, 0x85, 1, 9, 9, 0x85, 1, 9, 9, 0}, v4))))),
		"gtpu ext length 0":     ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x34, join([]byte{0, 0, 0, 0x85, 0, 9, 9, 0}, v4))))),
		"gtpu echo":             ether(nil, 0x0800, ip4(17, udpp(2152, 2152, []byte{0x32, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}))),
		"gtpu v2":               ether(nil, 0x0800, ip4(17, udpp(2152, 2152, gtp(0x48, v4)))),
		"gre in udp":            ether(nil, 0x0800, ip4(17, udpp(1, 4754, gre(0, 0x0800, 0, v4)))),
		"teredo 3544":           ether(nil, 0x0800, ip4(17, udpp(3544, 1, v6))),
		"teredo other port":     ether(nil, 0x0800, ip4(17, udpp(3797, 32900, v6))),
		"teredo origin":         ether(nil, 0x0800, ip4(17, udpp(3797, 32900, join(make([]byte, 8), v6)))),
		"dns":                   ether(nil, 0x0800, ip4(17, udpp(53, 1024, []byte{0x12, 0x34, 1, 0, 0, 1}))),
		"udp 0x00 0x05":         ether(nil, 0x0800, ip4(17, udpp(53, 1024, []byte{0, 5, 1, 0, 0, 1}))),
		"ayiya":                 ether(nil, 0x0800, ip4(17, udpp(5072, 5072, make([]byte, 40)))),
		"udp fragment":          ether(nil, 0x0800, func() []byte { p := ip4(17, udpp(1, 4789, vx(eth))); p[6] = 0x20; return p }()),
		"gre later fragment":    ether(nil, 0x0800, func() []byte { p := ip4(47, v4); p[7] = 9; return p }()),
		"mpls 2 labels":         ether(nil, 0x8847, join([]byte{0, 0x0f, 0xe0, 64, 0, 0x06, 0x31, 64}, v4)),
		"mpls explicit null v6": ether([]tag{{0x8100, 9}}, 0x8847, join([]byte{0, 0, 0x21, 64}, v6)),
		"mpls ipv6":             ether(nil, 0x8848, join([]byte{0, 0x10, 0x01, 64}, v6)),
		"mpls ethernet":         ether(nil, 0x8847, join([]byte{0, 0x10, 0x01, 64, 0, 0, 0, 0}, eth)),
		"mpls 5 labels":         ether(nil, 0x8847, join(make([]byte, 16), []byte{0, 0x10, 0x01, 64}, v4)),
		"pppoe":                 ether(nil, 0x8864, join([]byte{0x11, 0, 0, 0x2d, 0, 0, 0, 0x21}, v4)),
		"pppoe compressed v6":   ether([]tag{{0x8100, 3704}, {0x8100, 2474}}, 0x8864, join([]byte{0x11, 0, 0, 0x2d, 0, 0, 0x57}, v6)),
		"pppoe lcp":             ether(nil, 0x8864, join([]byte{0x11, 0, 0, 0x2d, 0, 0, 0xc0, 0x21}, make([]byte, 20))),
		"pppoe bad version":     ether(nil, 0x8864, join([]byte{0x12, 0, 0, 0x2d, 0, 0, 0, 0x21}, v4)),
	}
	for name, d := range moreTunnelPackets(eth, v4, v6) {
		m[name] = d
	}
	return m
}

// tunnelCorpusFrames are the Ethernet frames of testdata/tunnels.
func tunnelCorpusFrames(t testing.TB) map[string][]byte {
	files, _ := filepath.Glob("../testdata/tunnels/pcaps/*.pcap")
	if len(files) == 0 {
		t.Fatal("no tunnel captures")
	}
	m := map[string][]byte{}
	for _, f := range files {
		r, err := pcapfile.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]pcapfile.Packet, 64)
		i := 0
		for {
			n, err := r.ReadBatch(batch)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range batch[:n] {
				i++
				if p.Link == decode.LinkEthernet && len(p.Data) <= maxTestRun {
					m[fmt.Sprintf("%s #%d", filepath.Base(f), i)] = append([]byte(nil), p.Data...)
				}
			}
		}
	}
	return m
}

// TestKernelTunnels: the kernel program and Inspect agree on every tunnel
// frame, every truncation of the synthetic ones and random bit flips in
// their headers: same class, key and header length (see
// TestKernelClassifier), with those flows bypassed.
func TestKernelTunnels(t *testing.T) {
	requireBPF(t)
	p := loadProgram(t, Config{})
	pkts := tunnelCorpusFrames(t)
	r := rand.New(rand.NewSource(14))
	for name, d := range tunnelPackets() {
		pkts[name] = d
		for n := 0; n < len(d); n++ {
			pkts[fmt.Sprintf("%s cut to %d", name, n)] = d[:n]
		}
		for j := 0; j < 40; j++ {
			m := append([]byte(nil), d...)
			for k := 0; k < 1+r.Intn(3); k++ {
				m[12+r.Intn(min(len(m)-12, 140))] ^= byte(1 << r.Intn(8))
			}
			pkts[fmt.Sprintf("%s flip %d", name, j)] = m
		}
	}
	bypassed := map[FlowKey]bool{}
	for _, d := range pkts {
		if ins := Inspect(d, DLTEN10MB); ins.Class == TCP {
			bypassed[ins.Key] = true
			if err := p.Bypass(ins.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	classes := map[Class]int{}
	var want modelCounts
	for name, d := range pkts {
		ins := Inspect(d, DLTEN10MB)
		classes[ins.Class]++
		v, c, byp := model(Config{}, nil, d, DLTEN10MB, bypassed)
		want.add(c, byp)
		if got := testRun(t, p.prog, d); got != v {
			t.Errorf("%s: got %d, want %d (%v, header %d)", name, got, v, ins.Class, ins.HeaderLen)
		}
	}
	got, err := p.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if got != want.counters() {
		t.Errorf("counters %+v, want %+v", got, want.counters())
	}
	if classes[TCP] < 500 || classes[MaybeTCP] < 100 || classes[NonTCP] < 500 {
		t.Errorf("weak test: classes %v", classes)
	}
	t.Logf("classes %v, counters %+v", classes, got)
}

// TestInspectTunnels checks Inspect on the synthetic frames against what
// each should be, and on the tunnel corpus against the userspace decoder:
// whatever the decoder finds TCP in is never dropped (NonTCP), and where
// Inspect gives a key it is the decoder's innermost addresses, ports and
// VLANs, and the header ends where the decoder's payload starts.
func TestInspectTunnels(t *testing.T) {
	want := map[string]Class{
		"gre routing": NonTCP, "gre pptp": NonTCP, "gre arp": MaybeTCP, "erspan2 bad version": NonTCP, "erspan3 bad version": NonTCP, "erspan3 frame type 1": NonTCP,
		"four deep": MaybeTCP, "vxlan no I flag": NonTCP, "vxlan inner vlan": MaybeTCP, "vxlan inner arp": NonTCP,
		"vxlan inner udp": NonTCP, "geneve other": MaybeTCP, "geneve version 1": NonTCP, "gtpu 3 ext": MaybeTCP, "gtpu ext length 0": NonTCP,
		"gtpu echo": NonTCP, "gtpu v2": NonTCP, "dns": NonTCP, "udp 0x00 0x05": NonTCP, "ayiya": NonTCP,
		"udp fragment": MaybeTCP, "gre later fragment": MaybeTCP, "mpls 5 labels": MaybeTCP,
		"pppoe lcp": NonTCP, "pppoe bad version": NonTCP,
		"teredo auth short": NonTCP, "teredo bubble": NonTCP, "teredo other port bubble": NonTCP, "teredo ipv6 longer": NonTCP,
		"teredo trailing bytes": MaybeTCP, "teredo bad udp length": MaybeTCP, "teredo origin not ipv6": NonTCP, "teredo bad indicator": NonTCP,
		"quic short header": NonTCP, "ayiya heartbeat": NonTCP, "ayiya udp inside": NonTCP, "ayiya short": NonTCP,
		"mpls cw ethernet vlan": MaybeTCP, "mpls cw short": NonTCP, "mpls cw ethernet arp": NonTCP,
		// a tagged frame without control word whose MAC starts with a 0
		// nibble reads as a control word and an untagged frame (as in the
		// decoder): the tag is then skipped, not keyed
		"mpls ethernet vlan no cw": TCP,
	}
	for name, d := range tunnelPackets() {
		w, ok := want[name]
		if !ok {
			w = TCP
		}
		ins := Inspect(d, DLTEN10MB)
		if ins.Class != w {
			t.Errorf("%s: %v, want %v", name, ins.Class, w)
			continue
		}
		if w == TCP && (ins.Key.SrcPort != 4000 || ins.Key.DstPort != 80 || ins.HeaderLen != len(d)-len("inner payload")) {
			t.Errorf("%s: key %v header %d of %d", name, ins.Key, ins.HeaderLen, len(d))
		}
	}

	dec := decode.New(decode.Config{})
	counts := map[string]int{}
	for name, d := range tunnelCorpusFrames(t) {
		var seg reassembly.Segment
		res, _ := dec.Decode(decode.LinkEthernet, d, len(d), 1, &seg)
		ins := Inspect(d, DLTEN10MB)
		counts[fmt.Sprintf("%v/%v", res, ins.Class)]++
		if res == decode.ResultTCP && ins.Class == MaybeTCP {
			counts["maybe "+name[:strings.IndexByte(name, ' ')]]++
		}
		if res != decode.ResultTCP {
			continue
		}
		if ins.Class == NonTCP && dec.Tunnel().N > 0 && dec.Tunnel().Layers[0].Kind != decode.TunnelGRE {
			t.Errorf("%s: TCP in %v dropped in the kernel", name, dec.Tunnel())
		}
		if ins.Class != TCP {
			continue
		}
		k := ins.Key
		if k.Src != seg.Src || k.Dst != seg.Dst || k.SrcPort != seg.SrcPort || k.DstPort != seg.DstPort ||
			k.NVLANs != seg.VLANs.N || k.VLANs != seg.VLANs.IDs || !headerEnds(d, ins.HeaderLen, &seg) {
			t.Errorf("%s: Inspect %v header %d, decoder %+v", name, k, ins.HeaderLen, seg)
		}
	}
	t.Logf("decoder/Inspect: %v", counts)
	if counts["tcp/TCP"] < 500 {
		t.Errorf("only %d TCP frames keyed in the kernel", counts["tcp/TCP"])
	}
}

// headerEnds reports whether the TCP header ends at n in d: where the
// segment's payload starts, or for an empty payload, at or before the end
// of the frame (Ethernet padding may follow).
func headerEnds(d []byte, n int, seg *reassembly.Segment) bool {
	if len(seg.Payload) == 0 {
		return n <= len(d)
	}
	return n < len(d) && &d[n] == &seg.Payload[0]
}
