package bpf

import (
	"errors"
	"math/rand"
	"slices"
	"strings"
	"testing"

	netbpf "golang.org/x/net/bpf"
)

func needLibpcap(t testing.TB) {
	t.Helper()
	if _, err := loadLibpcap(); err != nil {
		t.Skipf("needs libpcap to compile filters: %v", err)
	}
}

// TestMatcherGolden: for every capture and expression, the packets the
// offline Matcher accepts are exactly those tcpdump printed, minus what the
// capture program drops as non-TCP; with AllowNonTCP exactly tcpdump's.
func TestMatcherGolden(t *testing.T) {
	needLibpcap(t)
	g := readGolden(t)
	nonEmpty := 0
	for _, c := range testCaptures {
		f := loadCapture(t, c)
		nonTCP := make([]bool, len(f.Records))
		for i, r := range f.Records {
			nonTCP[i] = Inspect(r.Data, f.LinkType).Class == NonTCP
		}
		for _, e := range testExprs {
			row, ok := g[goldenKey{c, e}]
			if !ok {
				t.Errorf("%s / %q: not in golden.tsv", c, e)
				continue
			}
			m, err := NewMatcher(e, f.LinkType)
			if row.err {
				if err == nil {
					t.Errorf("%s / %q: tcpdump rejected the expression, NewMatcher accepted it", c, e)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s / %q: %v", c, e, err)
				continue
			}
			all := &Matcher{AllowNonTCP: true, linkType: m.linkType, prog: m.prog}
			want := make([]bool, len(f.Records))
			for _, i := range row.idx {
				want[i] = true
			}
			n := 0
			for i, r := range f.Records {
				if got := all.MatchLen(r.Data, r.WireLen); got != want[i] {
					t.Errorf("%s / %q: packet %d: AllowNonTCP matcher says %v, tcpdump %v", c, e, i, got, want[i])
				}
				w := want[i] && !nonTCP[i]
				if got := m.MatchLen(r.Data, r.WireLen); got != w {
					t.Errorf("%s / %q: packet %d: matcher says %v, want %v (tcpdump %v, non-TCP %v)", c, e, i, got, w, want[i], nonTCP[i])
				}
				if w {
					n++
				}
			}
			if n > 0 {
				nonEmpty++
			}
		}
	}
	t.Logf("%d capture/expression pairs with TCP matches", nonEmpty)
	if nonEmpty < 100 {
		t.Errorf("only %d capture/expression pairs match anything: the comparison is too weak", nonEmpty)
	}
}

// TestInterpreterVsXNet compares the interpreter with golang.org/x/net/bpf's
// VM on every program and packet the VM supports (it lacks NEG).
func TestInterpreterVsXNet(t *testing.T) {
	needLibpcap(t)
	compared := 0
	for _, c := range testCaptures {
		f := loadCapture(t, c)
		for _, e := range testExprs {
			prog, err := CompileFilter(e, f.LinkType, 0)
			if err != nil {
				continue
			}
			vm, err := newXNetVM(prog)
			if err != nil {
				continue
			}
			for i, r := range f.Records {
				want, err := vm.Run(r.Data)
				if err != nil {
					t.Fatalf("%s / %q: %v", c, e, err)
				}
				if got := run(prog, r.Data, uint32(len(r.Data))); got != uint32(want) {
					t.Errorf("%s / %q: packet %d: interpreter %d, x/net VM %d", c, e, i, got, want)
				}
				compared++
			}
		}
	}
	if compared == 0 {
		t.Fatal("nothing compared")
	}
}

func newXNetVM(prog []netbpf.RawInstruction) (*netbpf.VM, error) {
	ins := make([]netbpf.Instruction, len(prog))
	for i, r := range prog {
		ins[i] = r.Disassemble()
		switch ins[i].(type) {
		case netbpf.RawInstruction, netbpf.NegateA:
			return nil, errors.New("x/net/bpf cannot run the program")
		}
	}
	return netbpf.NewVM(ins)
}

func TestMatcherNoFilter(t *testing.T) {
	m, err := NewMatcher(" ", DLTEN10MB)
	if err != nil {
		t.Fatal(err)
	}
	if m.prog != nil {
		t.Fatal("blank expression compiled to a program")
	}
	tcp := ether(nil, 0x0800, tcpSpec{src: ap("10.0.0.1:1"), dst: ap("10.0.0.2:2")}.ipv4())
	arp := ether(nil, 0x0806, make([]byte, 28))
	if !m.Match(tcp) || m.Match(arp) {
		t.Fatal("no-filter matcher: want TCP accepted, ARP dropped")
	}
	m.AllowNonTCP = true
	if !m.Match(arp) {
		t.Fatal("AllowNonTCP matcher dropped ARP")
	}
	if _, err := NewMatcher("", 147); err == nil {
		t.Fatal("unsupported link type accepted")
	}
}

func TestMatcherAllocs(t *testing.T) {
	needLibpcap(t)
	m, err := NewMatcher("tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or (vlan and tcp port 80)", DLTEN10MB)
	if err != nil {
		t.Fatal(err)
	}
	pkt := ether(nil, 0x0800, tcpSpec{src: ap("10.0.0.1:1"), dst: ap("10.0.0.2:80"), payload: []byte("GET / HTTP/1.0\r\n")}.ipv4())
	if !m.Match(pkt) {
		t.Fatal("GET not matched")
	}
	if a := testing.AllocsPerRun(100, func() { m.Match(pkt) }); a != 0 {
		t.Fatalf("Match allocates %v times", a)
	}
}

func TestNoLibpcapError(t *testing.T) {
	_, err := openLibpcap([]string{"libpcap-fastsniff-missing.so.0.8"})
	if !errors.Is(err, ErrNoLibpcap) {
		t.Fatalf("got %v, want ErrNoLibpcap", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "libpcap0.8") || strings.Contains(msg, "\n") {
		t.Fatalf("error should be one line naming the Debian package: %q", msg)
	}
	// No filter: libpcap is never needed.
	if p, err := CompileFilter("", DLTEN10MB, 0); p != nil || err != nil {
		t.Fatalf("empty filter: %v %v", p, err)
	}
}

func TestCompileFilterErrors(t *testing.T) {
	needLibpcap(t)
	for _, e := range []string{"tcp port", "host 999.1.1.1", "ip broadcast", "nonsense(("} {
		_, err := CompileFilter(e, DLTEN10MB, 0)
		if err == nil {
			t.Errorf("%q compiled", e)
			continue
		}
		if !strings.Contains(err.Error(), e) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error should be one line quoting the expression: %q", e, err)
		}
	}
	p, err := CompileFilter("tcp", DLTEN10MB, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if last := p[len(p)-2]; last.Op != clsRET|retK || last.K != 1234 {
		t.Errorf("accept should return the snaplen 1234: %+v", p)
	}
}

func TestInspect(t *testing.T) {
	a, b := ap("10.1.2.3:1234"), ap("10.9.8.7:80")
	a6, b6 := ap("[2001:db8::1]:1234"), ap("[2001:db8::2]:80")
	base := tcpSpec{src: a, dst: b, flags: 0x18, payload: []byte("hello")}
	v6 := tcpSpec{src: a6, dst: b6, flags: 0x18, payload: []byte("hello")}
	with := func(f func(*tcpSpec)) tcpSpec { s := base; f(&s); return s }
	with6 := func(f func(*tcpSpec)) tcpSpec { s := v6; f(&s); return s }
	tags := func(n int) []tag {
		var ts []tag
		for i := 0; i < n; i++ {
			ts = append(ts, tag{[]uint16{0x8100, 0x88a8, 0x9100}[i%3], uint16(0xa000 | (i + 1))})
		}
		return ts
	}
	cases := []struct {
		name  string
		pkt   []byte
		lt    int
		class Class
		hdr   int
		vlans []uint16
	}{
		{"ipv4", ether(nil, 0x0800, base.ipv4()), DLTEN10MB, TCP, 54, nil},
		{"ipv4 opts", ether(nil, 0x0800, with(func(s *tcpSpec) { s.ipOptWords, s.optWords = 2, 3 }).ipv4()), DLTEN10MB, TCP, 14 + 28 + 32, nil},
		{"1 tag", ether(tags(1), 0x0800, base.ipv4()), DLTEN10MB, TCP, 58, []uint16{1}},
		{"4 tags", ether(tags(4), 0x0800, base.ipv4()), DLTEN10MB, TCP, 70, []uint16{1, 2, 3, 4}},
		{"5 tags", ether(tags(5), 0x0800, base.ipv4()), DLTEN10MB, MaybeTCP, 0, nil},
		{"DF", ether(nil, 0x0800, with(func(s *tcpSpec) { s.fragField = 0x4000 }).ipv4()), DLTEN10MB, TCP, 54, nil},
		{"first fragment", ether(nil, 0x0800, with(func(s *tcpSpec) { s.fragField = 0x2000 }).ipv4()), DLTEN10MB, MaybeTCP, 0, nil},
		{"later fragment", ether(nil, 0x0800, with(func(s *tcpSpec) { s.fragField = 0x0010 }).ipv4()), DLTEN10MB, MaybeTCP, 0, nil},
		// UDP whose payload (here the TCP header's zero acknowledgement
		// number) starts 0x0000 might be Teredo with an origin indication
		// (UDP that cannot be: tunnel_test.go)
		// not Teredo either: an origin indication, then too short for IPv6
		{"udp", ether(nil, 0x0800, with(func(s *tcpSpec) { s.proto = 17 }).ipv4()), DLTEN10MB, NonTCP, 0, nil},
		{"arp", ether(nil, 0x0806, make([]byte, 28)), DLTEN10MB, NonTCP, 0, nil},
		{"mpls", ether(nil, 0x8847, append([]byte{0, 1, 1, 64}, base.ipv4()...)), DLTEN10MB, TCP, 58, nil},
		{"short ip", ether(nil, 0x0800, base.ipv4()[:19]), DLTEN10MB, NonTCP, 0, nil},
		{"bad version", ether(nil, 0x0800, base.ipv6()), DLTEN10MB, NonTCP, 0, nil},
		{"short tcp", ether(nil, 0x0800, with(func(s *tcpSpec) { s.tcpTruncated = 1 }).ipv4()), DLTEN10MB, MaybeTCP, 0, nil},
		{"short frame", []byte{1, 2, 3}, DLTEN10MB, NonTCP, 0, nil},
		{"cut tag", ether(nil, 0x8100, []byte{0}), DLTEN10MB, NonTCP, 0, nil},
		{"ipv6", ether(nil, 0x86dd, v6.ipv6()), DLTEN10MB, TCP, 74, nil},
		{"ipv6 hbh+dst", ether(tags(1), 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16()} }).ipv6()), DLTEN10MB, TCP, 78 + 24, []uint16{1}},
		{"ipv6 atomic frag+ah", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{frag6(0, false), ah12()} }).ipv6()), DLTEN10MB, TCP, 74 + 20, nil},
		{"ipv6 first frag", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{frag6(0, true)} }).ipv6()), DLTEN10MB, MaybeTCP, 0, nil},
		{"ipv6 later frag", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{frag6(100, false)} }).ipv6()), DLTEN10MB, MaybeTCP, 0, nil},
		{"ipv6 4 ext", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16(), dst16(), dst16()} }).ipv6()), DLTEN10MB, TCP, 74 + 56, nil},
		{"ipv6 5 ext", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16(), dst16(), dst16(), dst16()} }).ipv6()), DLTEN10MB, MaybeTCP, 0, nil},
		{"ipv6 5 ext udp", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.proto = 17; s.ext = []ext6{hbh8(), dst16(), dst16(), dst16(), dst16()} }).ipv6()), DLTEN10MB, MaybeTCP, 0, nil},
		{"ipv6 ext udp", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.proto = 17; s.ext = []ext6{hbh8()} }).ipv6()), DLTEN10MB, NonTCP, 0, nil},
		{"icmpv6", ether(nil, 0x86dd, with6(func(s *tcpSpec) { s.proto = 58 }).ipv6()), DLTEN10MB, NonTCP, 0, nil},
		{"raw ipv4", base.ipv4(), DLTRaw, TCP, 40, nil},
		{"raw ipv6 linktype 101", v6.ipv6(), LinkTypeRaw, TCP, 60, nil},
		{"ipv4 dlt", base.ipv4(), DLTIPv4, TCP, 40, nil},
		{"null", append([]byte{2, 0, 0, 0}, base.ipv4()...), DLTNull, TCP, 44, nil},
		{"null ipv6 bsd", append([]byte{0, 0, 0, 24}, v6.ipv6()...), DLTNull, TCP, 64, nil},
		{"sll", append(append(make([]byte, 14), 0x08, 0x00), base.ipv4()...), DLTLinuxSLL, TCP, 56, nil},
		{"unsupported", base.ipv4(), 147, NonTCP, 0, nil},
	}
	for _, c := range cases {
		p := Inspect(c.pkt, c.lt)
		if p.Class != c.class || p.HeaderLen != c.hdr {
			t.Errorf("%s: got %v hdr %d, want %v hdr %d", c.name, p.Class, p.HeaderLen, c.class, c.hdr)
			continue
		}
		if p.Class != TCP {
			continue
		}
		src, dst := a, b
		if c.name == "ipv6" || strings.HasPrefix(c.name, "ipv6 ") || strings.Contains(c.name, "ipv6") {
			src, dst = a6, b6
		}
		if want := NewFlowKey(src, dst, c.vlans...); p.Key != want {
			t.Errorf("%s: key %v, want %v", c.name, p.Key, want)
		}
	}
}

func TestFlowKey(t *testing.T) {
	k := NewFlowKey(ap("10.0.0.1:1000"), ap("[2001:db8::5]:80"), 5, 6, 7, 8, 9)
	if k.NVLANs != MaxVLANs || k.VLANs != [MaxVLANs]uint16{5, 6, 7, 8} {
		t.Fatalf("vlans %v/%d", k.VLANs, k.NVLANs)
	}
	r := k.Reverse()
	if r.SrcAddrPort() != ap("[2001:db8::5]:80") || r.DstAddrPort() != ap("10.0.0.1:1000") || r.Reverse() != k {
		t.Fatalf("reverse: %v", r)
	}
	if s := k.String(); s != "10.0.0.1:1000 > [2001:db8::5]:80 vlan 5 vlan 6 vlan 7 vlan 8" {
		t.Fatalf("String: %s", s)
	}
	b := k.bytes()
	if b[keySrc+10] != 0xff || b[keySrc+15] != 1 || b[keyDst] != 0x20 || b[keyNVLANs] != 4 {
		t.Fatalf("bytes: %x", b)
	}
}

// TestLiveOfflineSamePrograms: for the link types the kernel program
// handles, the live compile (pcap_open_dead) and tcpdump -r's (savefile)
// give the same classic program, so -i and -r filter alike.
func TestLiveOfflineSamePrograms(t *testing.T) {
	needLibpcap(t)
	for _, lt := range []int{DLTEN10MB, DLTRaw} {
		for _, e := range testExprs {
			live, lerr := CompileFilter(e, lt, 0)
			off, oerr := CompileOfflineFilter(e, lt, 0)
			if (lerr == nil) != (oerr == nil) {
				t.Errorf("linktype %d %q: live error %v, offline error %v", lt, e, lerr, oerr)
				continue
			}
			if !slices.Equal(live, off) {
				t.Errorf("linktype %d %q: live and offline programs differ", lt, e)
			}
		}
	}
}

// FuzzMatcher: Inspect (tunnels included), FanoutHash and the interpreter never panic or read out of
// bounds, whatever the bytes and link type (go test -fuzz FuzzMatcher).
func FuzzMatcher(f *testing.F) {
	for _, d := range syntheticPackets() {
		f.Add(d, uint8(DLTEN10MB), uint16(len(d)))
	}
	for _, d := range tunnelPackets() {
		f.Add(d, uint8(DLTEN10MB), uint16(len(d)))
	}
	var progs [][]netbpf.RawInstruction
	if _, err := loadLibpcap(); err == nil {
		for _, e := range []string{"vlan and tcp port 80", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", "tcp[14:2] % (tcp[13] & 3) = 1", "ip6 or len > 100"} {
			p, err := CompileFilter(e, DLTEN10MB, 0)
			if err != nil {
				f.Fatal(err)
			}
			progs = append(progs, p)
		}
	}
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 20; i++ {
		progs = append(progs, randomProgram(r))
	}
	lts := []int{DLTNull, DLTEN10MB, DLTRaw, DLTLoop, DLTLinuxSLL, DLTIPv4, DLTIPv6, DLTLinuxSLL2}
	f.Fuzz(func(t *testing.T, pkt []byte, lt uint8, wire uint16) {
		p := Inspect(pkt, lts[int(lt)%len(lts)])
		FanoutHash(pkt, lts[int(lt)%len(lts)])
		if p.Class == TCP && (p.HeaderLen < 40 || p.HeaderLen > len(pkt)+40) {
			t.Fatalf("implausible header length %d for a %d-byte packet", p.HeaderLen, len(pkt))
		}
		for _, prog := range progs {
			run(prog, pkt, uint32(wire))
		}
	})
}
