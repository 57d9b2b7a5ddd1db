package bpf

import (
	"testing"
	"time"
)

// TestBypassDrop: a flow bypassed in drop mode has its packets without
// SYN/FIN/RST dropped and counted exactly (packets, payload bytes without
// Ethernet padding, per direction), SYN/FIN/RST pass cut and uncounted
// and so does every later packet of their direction, a zero window
// passes cut and uncounted, other flows pass
// whole; TakeBypass returns the counts and removes the entries.
func TestBypassDrop(t *testing.T) {
	requireBPF(t)
	const (
		ack, psh, syn, fin, rst = 0x10, 0x08, 0x02, 0x01, 0x04
	)
	pad := func(b []byte) []byte { return append(b, make([]byte, 60-min(60, len(b)))...) }
	for _, tc := range []struct {
		name string
		cli  string
		srv  string
		tags []tag
	}{
		{"ipv4", "10.0.0.1:40000", "10.0.0.2:443", nil},
		{"ipv4 vlan", "10.0.0.1:40000", "10.0.0.2:443", []tag{{0x8100, 7}}},
		{"ipv6", "[2001:db8::1]:40000", "[2001:db8::2]:443", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProgram(t, Config{BypassMapSize: 16, DropPassInterval: time.Hour})
			frame := func(s tcpSpec) []byte {
				if s.src.Addr().Is4() {
					return pad(ether(tc.tags, 0x0800, s.ipv4()))
				}
				return pad(ether(tc.tags, 0x86dd, s.ipv6()))
			}
			cli, srv := ap(tc.cli), ap(tc.srv)
			var vl []uint16
			for _, tg := range tc.tags {
				vl = append(vl, tg.tci&0xfff)
			}
			k := NewFlowKey(cli, srv, vl...)
			if err := p.BypassWith(k, BypassDrop); err != nil {
				t.Fatal(err)
			}
			other := tcpSpec{src: cli, dst: ap(tc.srv[:len(tc.srv)-3] + "444"), flags: ack | psh, payload: make([]byte, 300)}
			type pkt struct {
				s    tcpSpec
				drop bool
			}
			seq := []pkt{
				{tcpSpec{src: cli, dst: srv, flags: ack | psh, payload: make([]byte, 517), optWords: 3}, true},
				{tcpSpec{src: srv, dst: cli, flags: ack}, true}, // padded to 60 bytes: 0 payload
				{tcpSpec{src: srv, dst: cli, flags: ack | psh, payload: make([]byte, 1400)}, true},
				{tcpSpec{src: srv, dst: cli, flags: ack, payload: make([]byte, 3)}, true}, // padded: 3 bytes
				{other, false},
				{tcpSpec{src: cli, dst: srv, flags: ack, zeroWin: true}, false}, // zero window: cut, uncounted
				{tcpSpec{src: cli, dst: srv, flags: ack, payload: make([]byte, 20)}, true},
				{tcpSpec{src: cli, dst: srv, flags: fin | ack, payload: make([]byte, 10)}, false},
				{tcpSpec{src: cli, dst: srv, flags: ack}, false}, // after the client's FIN: cut
				{tcpSpec{src: srv, dst: cli, flags: ack, payload: make([]byte, 7)}, true},
				{tcpSpec{src: srv, dst: cli, flags: syn}, false},
				{tcpSpec{src: srv, dst: cli, flags: ack, payload: make([]byte, 5)}, false}, // after its SYN
				{tcpSpec{src: srv, dst: cli, flags: rst}, false},
			}
			var want [2]DirCounts
			var wantC Counters
			for i, pk := range seq {
				f := frame(pk.s)
				ins := Inspect(f, DLTEN10MB)
				got := testRun(t, p.prog, f)
				wantC.Seen++
				bypassed := ins.Key == k || ins.Key == k.Reverse()
				switch {
				case pk.drop:
					wantC.Dropped++
					if got != 0 {
						t.Errorf("packet %d: returned %d, want 0 (dropped)", i, got)
					}
					d := 0
					if ins.Key == k.Reverse() {
						d = 1
					}
					want[d].Packets++
					want[d].Bytes += uint64(len(pk.s.payload))
				case bypassed:
					wantC.Passed++
					wantC.Bypassed++
					if got != uint32(ins.HeaderLen) {
						t.Errorf("packet %d: returned %d, want the header length %d", i, got, ins.HeaderLen)
					}
				default:
					wantC.Passed++
					if got != DefaultSnaplen {
						t.Errorf("packet %d: returned %d, want %d (whole)", i, got, DefaultSnaplen)
					}
				}
			}
			c, err := p.Counters()
			if err != nil {
				t.Fatal(err)
			}
			if c != wantC {
				t.Errorf("counters %+v, want %+v", c, wantC)
			}
			got, ok, err := p.TakeBypass(k)
			if err != nil || !ok || got != want {
				t.Errorf("TakeBypass = %+v, %v, %v; want %+v", got, ok, err, want)
			}
			if want[0].Packets != 2 || want[0].Bytes != 537 || want[1].Packets != 4 || want[1].Bytes != 1410 {
				t.Fatalf("test sequence changed: %+v", want)
			}
			if got, ok, err := p.TakeBypass(k); err != nil || ok || got != ([2]DirCounts{}) {
				t.Errorf("second TakeBypass = %+v, %v, %v; want nothing", got, ok, err)
			}
			// gone from the map: packets pass whole again
			if v := testRun(t, p.prog, frame(seq[0].s)); v != DefaultSnaplen {
				t.Errorf("after TakeBypass: returned %d, want %d", v, DefaultSnaplen)
			}
		})
	}
}

// TestBypassDropPeriodicPass: in drop mode one packet per direction per
// DropPassInterval passes cut (uncounted), the rest is dropped.
func TestBypassDropPeriodicPass(t *testing.T) {
	requireBPF(t)
	// long enough that five test runs always fit inside it (the skip
	// below guards a machine stalled for a whole second, not a slow one)
	const interval = time.Second
	p := loadProgram(t, Config{BypassMapSize: 16, DropPassInterval: interval})
	cli, srv := ap("10.0.0.1:40000"), ap("10.0.0.2:443")
	k := NewFlowKey(cli, srv)
	fwd := ether(nil, 0x0800, tcpSpec{src: cli, dst: srv, flags: 0x18, payload: make([]byte, 100)}.ipv4())
	rev := ether(nil, 0x0800, tcpSpec{src: srv, dst: cli, flags: 0x18, payload: make([]byte, 50)}.ipv4())
	hl := uint32(Inspect(fwd, DLTEN10MB).HeaderLen)
	start := time.Now()
	if err := p.BypassWith(k, BypassDrop); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if v := testRun(t, p.prog, fwd); v != 0 {
			t.Fatalf("packet %d right after BypassWith: returned %d, want 0", i, v)
		}
	}
	if time.Since(start) >= interval {
		t.Skip("five program test runs took longer than the 1 s interval: the machine stalled")
	}
	time.Sleep(interval + 50*time.Millisecond)
	// the first packet of each direction past the interval passes cut,
	// the next ones are dropped again
	for _, pk := range [][]byte{fwd, rev} {
		if v := testRun(t, p.prog, pk); v != hl {
			t.Errorf("first packet after the interval: returned %d, want %d (cut)", v, hl)
		}
		if v := testRun(t, p.prog, pk); v != 0 {
			t.Errorf("second packet after the interval: returned %d, want 0", v)
		}
	}
	got, ok, err := p.TakeBypass(k)
	want := [2]DirCounts{{Packets: 6, Bytes: 600}, {Packets: 1, Bytes: 50}}
	if err != nil || !ok || got != want {
		t.Errorf("TakeBypass = %+v, %v, %v; want %+v", got, ok, err, want)
	}
}

// TestBypassCutCounts: cut mode (Bypass) passes every packet cut and
// counts them in Packets, no bytes; nothing is Dropped.
func TestBypassCutCounts(t *testing.T) {
	requireBPF(t)
	p := loadProgram(t, Config{BypassMapSize: 16})
	cli, srv := ap("10.0.0.1:40000"), ap("10.0.0.2:443")
	k := NewFlowKey(cli, srv)
	if err := p.Bypass(k); err != nil {
		t.Fatal(err)
	}
	fwd := ether(nil, 0x0800, tcpSpec{src: cli, dst: srv, flags: 0x18, payload: make([]byte, 100)}.ipv4())
	hl := uint32(Inspect(fwd, DLTEN10MB).HeaderLen)
	for i := 0; i < 3; i++ {
		if v := testRun(t, p.prog, fwd); v != hl {
			t.Fatalf("returned %d, want %d", v, hl)
		}
	}
	got, ok, err := p.TakeBypass(k)
	if want := ([2]DirCounts{{Packets: 3}}); err != nil || !ok || got != want {
		t.Errorf("TakeBypass = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if c, _ := p.Counters(); c.Dropped != 0 || c.Bypassed != 3 {
		t.Errorf("counters %+v", c)
	}
}
