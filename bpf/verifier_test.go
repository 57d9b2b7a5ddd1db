package bpf

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// verifierStats is what the kernel verifier reports for one program.
type verifierStats struct {
	Insns      int           // instructions in the program
	Processed  int           // instructions the verifier processed (its work)
	States     int           // total_states
	PeakStates int           // peak_states
	Time       time.Duration // the verifier's own "verification time"
	Wall       time.Duration // BPF_PROG_LOAD as seen by the caller
}

func (s verifierStats) String() string {
	return fmt.Sprintf("%d insns, %d processed, %d states (peak %d), verifier %v, load %v",
		s.Insns, s.Processed, s.States, s.PeakStates, s.Time, s.Wall)
}

var (
	reProcessed = regexp.MustCompile(`processed (\d+) insns .* total_states (\d+) peak_states (\d+)`)
	reVerTime   = regexp.MustCompile(`verification time (\d+) usec`)
)

// loadStats loads a socket filter with the verifier's statistics log.
func loadStats(t testing.TB, name string, insns asm.Instructions) verifierStats {
	t.Helper()
	spec := &ebpf.ProgramSpec{Name: name, Type: ebpf.SocketFilter, License: "Dual MIT/GPL", Instructions: insns}
	start := time.Now()
	p, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats})
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %+v", name, err)
	}
	defer p.Close()
	s := verifierStats{Wall: wall}
	for _, ins := range insns {
		s.Insns += int(ins.Size() / asm.InstructionSize)
	}
	m := reProcessed.FindStringSubmatch(p.VerifierLog)
	if m == nil {
		t.Fatalf("%s: no statistics in the verifier log %q", name, p.VerifierLog)
	}
	s.Processed, _ = strconv.Atoi(m[1])
	s.States, _ = strconv.Atoi(m[2])
	s.PeakStates, _ = strconv.Atoi(m[3])
	if m := reVerTime.FindStringSubmatch(p.VerifierLog); m != nil {
		us, _ := strconv.Atoi(m[1])
		s.Time = time.Duration(us) * time.Microsecond
	}
	return s
}

// verifierCase is one program the verifier budget covers.
type verifierCase struct {
	name   string
	fanout bool
	cfg    Config
	// budget is the most instructions the verifier may process: about
	// 2x what it does today (3 tunnel levels), far below the 0.37 to
	// 0.56 million (a second of CPU per start) the unrolled parse of 2
	// levels cost before its branches were made to prune
	// (program_tunnel.go).
	budget int
}

func verifierCases() []verifierCase {
	var cs []verifierCase
	for _, lt := range []struct {
		name string
		lt   int
	}{{"ether", DLTEN10MB}, {"raw", DLTRaw}} {
		cs = append(cs,
			verifierCase{name: "capture " + lt.name, cfg: Config{LinkType: lt.lt}, budget: 15000},
			verifierCase{name: "capture non-TCP " + lt.name, cfg: Config{LinkType: lt.lt, AllowNonTCP: true}, budget: 15000},
			verifierCase{name: "capture port 80 " + lt.name, cfg: Config{LinkType: lt.lt, Filter: "tcp port 80"}, budget: 20000},
			verifierCase{name: "fanout " + lt.name, fanout: true, cfg: Config{LinkType: lt.lt}, budget: 15000},
		)
	}
	return append(cs, verifierCase{name: "capture vlan filter ether", cfg: Config{LinkType: DLTEN10MB, Filter: "vlan and tcp port 80 or vlan and ip6"}, budget: 60000})
}

// build assembles the case's program (maps from m).
func (c verifierCase) build(t testing.TB, m *Program) asm.Instructions {
	t.Helper()
	if c.fanout {
		insns, err := buildFanout(c.cfg.LinkType)
		if err != nil {
			t.Fatal(err)
		}
		return insns
	}
	filter, err := CompileFilter(c.cfg.Filter, c.cfg.LinkType, DefaultSnaplen)
	if err != nil {
		t.Fatal(err)
	}
	insns, err := buildProgram(c.cfg.LinkType, c.cfg.AllowNonTCP, DefaultSnaplen, filter, m.counters, m.bypass, uint64(DefaultDropPassInterval))
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

// TestVerifierBudget fails when the verifier's work on the capture or
// fanout program grows past its stated bound: every `fastsniff -i` start
// and every test pays it in system time.
func TestVerifierBudget(t *testing.T) {
	requireBPF(t)
	m, err := newMaps(16)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range verifierCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.Filter != "" {
				needLibpcap(t)
			}
			s := loadStats(t, "fs_budget", c.build(t, m))
			t.Logf("%v", s)
			if s.Processed > c.budget {
				t.Errorf("the verifier processed %d instructions, budget %d: a branch that no longer prunes? (program_tunnel.go)", s.Processed, c.budget)
			}
			if s.Processed < s.Insns {
				t.Errorf("processed %d < %d instructions: statistics misread", s.Processed, s.Insns)
			}
		})
	}
}

// BenchmarkLoad is what a start of the live engine pays per program:
// building and loading it (the verifier's time is most of it); reported
// with the instructions the verifier processed.
//
//	go test ./bpf -run '^$' -bench Load -benchtime 20x
func BenchmarkLoad(b *testing.B) {
	requireBPF(b)
	m, err := newMaps(16)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, c := range verifierCases() {
		b.Run(c.name, func(b *testing.B) {
			if c.cfg.Filter != "" {
				needLibpcap(b)
			}
			var s verifierStats
			for b.Loop() {
				s = loadStats(b, "fs_bench", c.build(b, m))
			}
			b.ReportMetric(float64(s.Processed), "verified-insns")
			b.ReportMetric(float64(s.Time.Microseconds()), "verifier-µs")
		})
	}
}

// TestBypassCutBelowSnaplen: a bypassed packet is cut to the smaller of
// the verdict (here a snap length of 70) and its header length, both
// ways round (the branch-free min of the program's bypass step).
func TestBypassCutBelowSnaplen(t *testing.T) {
	requireBPF(t)
	const snap = 70
	p := loadProgram(t, Config{Snaplen: snap})
	pkts := join2(tunnelPackets(), syntheticPackets())
	for _, d := range pkts {
		if ins := Inspect(d, DLTEN10MB); ins.Class == TCP {
			if err := p.Bypass(ins.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	below, above := 0, 0
	for name, d := range pkts {
		ins := Inspect(d, DLTEN10MB)
		want := uint32(snap)
		switch {
		case ins.Class == NonTCP:
			want = 0
		case ins.Class == TCP && ins.HeaderLen < snap:
			want = uint32(ins.HeaderLen)
			below++
		case ins.Class == TCP:
			above++
		}
		if got := testRun(t, p.prog, d); got != want {
			t.Errorf("%s: got %d, want %d (%v, header %d)", name, got, want, ins.Class, ins.HeaderLen)
		}
	}
	if below < 5 || above < 5 {
		t.Errorf("weak test: %d headers below the snap length, %d above", below, above)
	}
}

// BenchmarkKernelRun is the kernel programs' own cost per packet
// (BPF_PROG_TEST_RUN with repeat, the kernel's timing), bare and in
// tunnels: what the parse of an encapsulation adds in softirq context,
// which a process's CPU time does not show.
//
//	go test ./bpf -run '^$' -bench KernelRun
func BenchmarkKernelRun(b *testing.B) {
	requireBPF(b)
	in := tcpSpec{src: ap("10.1.0.1:4000"), dst: ap("10.1.0.2:80"), flags: 0x18, payload: make([]byte, 1400)}
	eth := ether(nil, 0x0800, in.ipv4())
	vx := func(inner []byte) []byte {
		return ether(nil, 0x0800, ip4(17, udpp(51000, 4789, join([]byte{8, 0, 0, 0, 0, 0, 7, 0}, inner))))
	}
	frames := []struct {
		name  string
		frame []byte
	}{
		{"bare", eth},
		{"vxlan", vx(eth)},
		{"erspan2-vxlan", ether(nil, 0x0800, ip4(47, join([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 20, 0, 0, 0, 0}, vx(eth))))},
	}
	p := loadProgram(b, Config{})
	f, err := LoadFanout(DLTEN10MB)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, fr := range frames {
		for _, prog := range []struct {
			name string
			p    *ebpf.Program
			data []byte
		}{
			// testRun's dummy Ethernet header: the test run pulls 14 bytes
			{"capture", p.prog, append(append([]byte(nil), eth[:12]...), append([]byte{0x88, 0xb5}, fr.frame...)...)},
			{"fanout", f.prog, fr.frame},
		} {
			b.Run(fr.name+"/"+prog.name, func(b *testing.B) {
				const repeat = 100000
				var total time.Duration
				for b.Loop() {
					_, d, err := prog.p.Benchmark(prog.data, repeat, nil)
					if err != nil {
						b.Fatal(err)
					}
					total += d
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/packet")
			})
		}
	}
}
