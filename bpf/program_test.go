package bpf

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	netbpf "golang.org/x/net/bpf"
)

func loadProgram(t testing.TB, cfg Config) *Program {
	t.Helper()
	p, err := Load(cfg)
	if err != nil {
		t.Fatalf("Load(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// model is what the capture program must return for a packet, computed
// with Inspect and the classic interpreter, plus which counter it bumps.
func model(cfg Config, filter []netbpf.RawInstruction, pkt []byte, lt int, bypassed map[FlowKey]bool) (uint32, int, bool) {
	ins := Inspect(pkt, lt)
	if ins.Class == NonTCP && !cfg.AllowNonTCP {
		return 0, cntNonTCP, false
	}
	v := uint32(DefaultSnaplen)
	if filter != nil {
		v = run(filter, pkt, uint32(len(pkt)))
	}
	if v == 0 {
		return 0, cntFiltered, false
	}
	if ins.Class == TCP && bypassed[ins.Key] {
		return min(v, uint32(ins.HeaderLen)), cntPassed, true
	}
	return v, cntPassed, false
}

type modelCounts [numCounters]uint64

func (m *modelCounts) add(c int, byp bool) {
	m[cntSeen]++
	m[c]++
	if byp {
		m[cntBypassed]++
	}
}

func (m modelCounts) counters() Counters {
	return Counters{Seen: m[cntSeen], Passed: m[cntPassed], Filtered: m[cntFiltered], Bypassed: m[cntBypassed], NonTCP: m[cntNonTCP], Dropped: m[cntDropped]}
}

func capturePackets(t testing.TB, lt int) [][]byte {
	var out [][]byte
	for _, c := range testCaptures {
		f := loadCapture(t, c)
		flt := normLinkType(f.LinkType)
		if flt == DLTIPv4 {
			flt = DLTRaw
		}
		if flt != lt {
			continue
		}
		for _, r := range f.Records {
			out = append(out, capData(r.Data))
		}
	}
	return out
}

// TestLoadCorpus: with and without a filter, with and without
// AllowNonTCP, Ethernet and raw IP, the loaded program returns on every
// corpus packet what Inspect + the interpreter predict, and the counters
// add up.
func TestLoadCorpus(t *testing.T) {
	requireBPF(t)
	needLibpcap(t)
	cfgs := []Config{
		{},
		{Filter: "tcp port 80"},
		{Filter: "vlan and tcp"},
		{Filter: "len > 100 or tcp[tcpflags] & tcp-syn != 0"},
		{AllowNonTCP: true},
		{AllowNonTCP: true, Filter: "udp or (vlan and vlan) or ip6"},
		{LinkType: DLTRaw},
		{LinkType: DLTRaw, Filter: "ip6 or tcp[tcpflags] & tcp-push != 0"},
		{LinkType: DLTRaw, Filter: "ip[6:2] & 0x1fff != 0", AllowNonTCP: true},
		{Filter: "geneve and tcp"},
		{Filter: "vlan and mpls and tcp port 80"},
		{Filter: "pppoes and tcp"},
		{Filter: "ip proto 47 or udp port 4789"},
	}
	for _, cfg := range cfgs {
		lt := DLTEN10MB
		if cfg.LinkType != 0 {
			lt = cfg.LinkType
		}
		p := loadProgram(t, cfg)
		var want modelCounts
		for i, d := range capturePackets(t, lt) {
			v, c, byp := model(cfg, p.Filter(), d, lt, nil)
			want.add(c, byp)
			if got := testRun(t, p.prog, d); got != v {
				t.Errorf("%+v: packet %d: got %d, want %d (%v)", cfg, i, got, v, Inspect(d, lt).Class)
			}
		}
		got, err := p.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if got != want.counters() {
			t.Errorf("%+v: counters %+v, want %+v", cfg, got, want.counters())
		}
		t.Logf("%+v: %+v", cfg, got)
	}
}

// syntheticPackets are frames for every parse path of the kernel program.
func syntheticPackets() map[string][]byte {
	a, b := ap("10.1.2.3:1234"), ap("10.9.8.7:80")
	a6, b6 := ap("[2001:db8::1]:1234"), ap("[2001:db8::2]:80")
	base := tcpSpec{src: a, dst: b, flags: 0x18, payload: []byte("hello, world")}
	v6 := tcpSpec{src: a6, dst: b6, flags: 0x18, payload: []byte("hello, world")}
	with := func(s tcpSpec, f func(*tcpSpec)) tcpSpec { f(&s); return s }
	tags := func(n int) []tag {
		var ts []tag
		for i := 0; i < n; i++ {
			ts = append(ts, tag{[]uint16{0x8100, 0x88a8, 0x9100}[i%3], uint16(0xe000 | (100 + i))})
		}
		return ts
	}
	m := map[string][]byte{}
	for n := 0; n <= 5; n++ {
		m[fmt.Sprintf("ipv4 %d tags", n)] = ether(tags(n), 0x0800, base.ipv4())
		m[fmt.Sprintf("ipv6 %d tags", n)] = ether(tags(n), 0x86dd, v6.ipv6())
	}
	m["ipv4 options"] = ether(nil, 0x0800, with(base, func(s *tcpSpec) { s.ipOptWords, s.optWords = 10, 10 }).ipv4())
	m["ipv4 doff<5"] = func() []byte {
		p := ether(nil, 0x0800, base.ipv4())
		p[14+20+12] = 0x20
		return p
	}()
	m["ipv4 first frag"] = ether(nil, 0x0800, with(base, func(s *tcpSpec) { s.fragField = 0x2000 }).ipv4())
	m["ipv4 later frag"] = ether(nil, 0x0800, with(base, func(s *tcpSpec) { s.fragField = 0x0003 }).ipv4())
	m["ipv4 DF"] = ether(nil, 0x0800, with(base, func(s *tcpSpec) { s.fragField = 0x4000 }).ipv4())
	m["ipv4 udp"] = ether(nil, 0x0800, with(base, func(s *tcpSpec) { s.proto = 17 }).ipv4())
	m["ipv4 cut tcp"] = ether(tags(1), 0x0800, with(base, func(s *tcpSpec) { s.tcpTruncated = 3 }).ipv4())
	m["ipv4 ihl<5"] = func() []byte {
		p := ether(nil, 0x0800, base.ipv4())
		p[14] = 0x44
		return p
	}()
	m["ipv4 short"] = ether(nil, 0x0800, base.ipv4()[:19])
	m["ipv6 short"] = ether(nil, 0x86dd, v6.ipv6()[:39])
	m["ipv6 bad version"] = ether(nil, 0x86dd, base.ipv4())
	m["ipv4 bad version"] = ether(nil, 0x0800, v6.ipv6())
	m["arp"] = ether(nil, 0x0806, make([]byte, 28))
	m["tagged arp"] = ether(tags(2), 0x0806, make([]byte, 28))
	m["cut tag"] = ether(nil, 0x8100, []byte{0})
	m["runt"] = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08}
	m["ipv6 hbh dst ah"] = ether(tags(1), 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16(), ah12()} }).ipv6())
	m["ipv6 atomic frag"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{frag6(0, false)} }).ipv6())
	m["ipv6 first frag"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{frag6(0, true)} }).ipv6())
	m["ipv6 later frag"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{hbh8(), frag6(9, false)} }).ipv6())
	m["ipv6 4 ext"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16(), ah12(), dst16()} }).ipv6())
	m["ipv6 5 ext"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{hbh8(), dst16(), ah12(), dst16(), dst16()} }).ipv6())
	m["ipv6 5 ext icmp"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.proto = 58; s.ext = []ext6{hbh8(), dst16(), ah12(), dst16(), dst16()} }).ipv6())
	m["ipv6 cut ext"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.ext = []ext6{dst16()} }).ipv6()[:40+6])
	m["ipv6 icmp"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.proto = 58 }).ipv6())
	m["ipv6 esp"] = ether(nil, 0x86dd, with(v6, func(s *tcpSpec) { s.proto = 50 }).ipv6())
	return m
}

// TestKernelClassifier: on every synthetic frame and every corpus frame,
// with every flow Inspect finds in the bypass map, the kernel returns 0
// for NonTCP, the full verdict for MaybeTCP, and exactly HeaderLen for TCP
// — which it can only do if its class, flow key (addresses, ports, VLAN
// ids and count) and header length all equal Inspect's.
func TestKernelClassifier(t *testing.T) {
	requireBPF(t)
	p := loadProgram(t, Config{})
	pkts := map[string][]byte{}
	for name, d := range syntheticPackets() {
		pkts[name] = d
	}
	for i, d := range capturePackets(t, DLTEN10MB) {
		pkts[fmt.Sprintf("corpus %d", i)] = d
	}
	// Every truncation of every synthetic frame hits each length check;
	// random byte flips in the headers hit the odd values.
	r := rand.New(rand.NewSource(7))
	for name, d := range syntheticPackets() {
		for n := 0; n < len(d); n++ {
			pkts[fmt.Sprintf("%s cut to %d", name, n)] = d[:n]
		}
		for j := 0; j < 20; j++ {
			m := append([]byte(nil), d...)
			for k := 0; k < 1+r.Intn(3); k++ {
				m[12+r.Intn(min(len(m)-12, 100))] ^= byte(1 << r.Intn(8))
			}
			pkts[fmt.Sprintf("%s flip %d", name, j)] = m
		}
	}
	bypassed := map[FlowKey]bool{}
	classes := map[Class]int{}
	for _, d := range pkts {
		if ins := Inspect(d, DLTEN10MB); ins.Class == TCP {
			bypassed[ins.Key] = true
			if err := p.Bypass(ins.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
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
	if classes[TCP] < 50 || classes[MaybeTCP] < 5 || classes[NonTCP] < 10 {
		t.Errorf("weak test: classes %v", classes)
	}
	t.Logf("classes %v, counters %+v", classes, got)
}

// TestBypass: a bypassed flow's packets (both directions) come back cut to
// their headers, the others whole; BypassHits counts; Unbypass restores.
func TestBypass(t *testing.T) {
	requireBPF(t)
	needLibpcap(t)
	p := loadProgram(t, Config{Filter: "tcp", BypassMapSize: 16})
	f := loadCapture(t, "ak-tcp-reassembly-synthetic.pcap")
	var key FlowKey
	for _, r := range f.Records {
		if ins := Inspect(r.Data, DLTEN10MB); ins.Class == TCP && len(r.Data) > ins.HeaderLen {
			key = ins.Key
			break
		}
	}
	if err := p.Bypass(key); err != nil {
		t.Fatal(err)
	}
	bypassed := map[FlowKey]bool{key: true, key.Reverse(): true}
	var want modelCounts
	cut, fwd := 0, uint64(0)
	for i, r := range f.Records {
		v, c, byp := model(Config{Filter: "tcp"}, p.Filter(), r.Data, DLTEN10MB, bypassed)
		want.add(c, byp)
		got := testRun(t, p.prog, r.Data)
		if got != v {
			t.Errorf("packet %d: got %d, want %d", i, got, v)
		}
		if byp {
			ins := Inspect(r.Data, DLTEN10MB)
			if got != uint32(ins.HeaderLen) {
				t.Errorf("packet %d: bypassed packet returned %d, want header length %d", i, got, ins.HeaderLen)
			}
			if int(got) < len(r.Data) {
				cut++
			}
			if ins.Key == key {
				fwd++
			}
		}
	}
	if cut == 0 {
		t.Fatal("no payload was cut")
	}
	c, err := p.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c != want.counters() {
		t.Errorf("counters %+v, want %+v", c, want.counters())
	}
	hits, ok, err := p.BypassHits(key)
	if err != nil || !ok || hits != fwd {
		t.Errorf("BypassHits = %d, %v, %v; want %d", hits, ok, err, fwd)
	}
	if err := p.Unbypass(key); err != nil {
		t.Fatal(err)
	}
	if err := p.Unbypass(key); err != nil {
		t.Fatalf("second Unbypass: %v", err)
	}
	if _, ok, _ := p.BypassHits(key.Reverse()); ok {
		t.Error("reverse direction still bypassed")
	}
	for i, r := range f.Records {
		v, _, _ := model(Config{Filter: "tcp"}, p.Filter(), r.Data, DLTEN10MB, nil)
		if got := testRun(t, p.prog, r.Data); got != v {
			t.Errorf("after Unbypass, packet %d: got %d, want %d", i, got, v)
		}
	}
	t.Logf("%d packets cut, counters %+v", cut, c)
}

// TestLoadLargeFilters: the verifier accepts long and branchy filters.
func TestLoadLargeFilters(t *testing.T) {
	requireBPF(t)
	needLibpcap(t)
	var hosts []string
	for i := 0; i < 60; i++ {
		hosts = append(hosts, fmt.Sprintf("host 10.%d.%d.1", i, i*3))
	}
	exprs := []string{
		strings.Join(hosts, " or "),
		"(vlan and vlan and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x504f5354)) or (ip6 and tcp portrange 1000-2000 and not net 2001:db8::/32)",
		"(tcp[13] << (tcp[12] >> 4)) > 64 and tcp[14:2] % (tcp[13] & 3) = 1 and ether[(ether[0] & 3) + 12:2] = 0x8100",
	}
	for _, e := range exprs {
		p, err := Load(Config{Filter: e})
		if err != nil {
			t.Errorf("%.60q...: %v", e, err)
			continue
		}
		info, err := p.prog.Info()
		if err == nil {
			if n, ok := info.VerifiedInstructions(); ok {
				t.Logf("%.40q: %d cBPF -> %d instructions processed by the verifier", e, len(p.Filter()), n)
			}
		}
		p.Close()
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(Config{LinkType: DLTLinuxSLL}); err == nil {
		t.Error("SLL accepted by the kernel program")
	}
	needLibpcap(t)
	if _, err := Load(Config{Filter: "port"}); err == nil || !strings.Contains(err.Error(), `"port"`) {
		t.Errorf("bad filter: %v", err)
	}
}

// TestVerifierErrorFormat: a program the verifier refuses surfaces as a
// *ebpf.VerifierError that prints its log with %+v.
func TestVerifierErrorFormat(t *testing.T) {
	requireBPF(t)
	insns, err := Translate([]netbpf.RawInstruction{{Op: clsRET | retA}})
	if err != nil {
		t.Fatal(err)
	}
	insns = insns[1:] // drop R6 = R1: the ctx-relative loads now use an uninitialised R6
	_, err = ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL", Instructions: insns})
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("want a verifier error, got %v", err)
	}
	if s := fmt.Sprintf("%+v", ve); !strings.Contains(s, "R6") {
		t.Errorf("verifier log lacks the offending register: %s", s)
	}
}
