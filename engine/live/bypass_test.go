package live

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/reassembly"
)

// fakeBypasser is the kernel map as bypassHandler sees it.
type fakeBypasser struct {
	modes  map[bpf.FlowKey]bpf.BypassMode
	counts map[bpf.FlowKey][2]bpf.DirCounts // what TakeBypass returns
	fail   error
}

func (f *fakeBypasser) BypassWith(k bpf.FlowKey, m bpf.BypassMode) error {
	f.modes[k] = m
	return nil
}

func (f *fakeBypasser) TakeBypass(k bpf.FlowKey) ([2]bpf.DirCounts, bool, error) {
	if f.fail != nil {
		return [2]bpf.DirCounts{}, false, f.fail
	}
	if _, ok := f.modes[k]; !ok {
		return [2]bpf.DirCounts{}, false, nil
	}
	delete(f.modes, k)
	return f.counts[k], true, nil
}

// bypassRecorder requests a bypass (drop mode, as the TLS log does) or not,
// and records the stats its Closed sees.
type bypassRecorder struct {
	bypass func(*reassembly.Conn)
	drop   bool
	closed [2]reassembly.DirStats
}

func (r *bypassRecorder) Opened(c *reassembly.Conn) {}
func (r *bypassRecorder) Sent(c *reassembly.Conn, d reassembly.Data) {
	if r.drop {
		c.Bypass()
		r.bypass(c)
	}
}
func (r *bypassRecorder) Received(c *reassembly.Conn, d reassembly.Data) {}
func (r *bypassRecorder) Closed(c *reassembly.Conn, _ reassembly.Reason) {
	r.closed = [2]reassembly.DirStats{c.Stats(reassembly.FromClient), c.Stats(reassembly.FromServer)}
}

// TestBypassHandlerCounts: the kernel's counts of a drop-mode connection
// are added to it before the inner handler's Closed; a cut-mode one's
// (packets userspace saw) are not; a missing entry is counted as lost.
func TestBypassHandlerCounts(t *testing.T) {
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:443")
	k := bpf.NewFlowKey(cli, srv)
	kc := [2]bpf.DirCounts{{Packets: 5, Bytes: 700}, {Packets: 9, Bytes: 12000}}
	for _, tc := range []struct {
		name        string
		drop, evict bool
		max         uint64
		wantMode    bpf.BypassMode
		addPkts     [2]uint64
		lost        uint64
	}{
		{name: "drop", drop: true, max: ^uint64(0), wantMode: bpf.BypassDrop, addPkts: [2]uint64{5, 9}},
		{name: "drop evicted", drop: true, evict: true, max: ^uint64(0), wantMode: bpf.BypassDrop, lost: 1},
		{name: "cut", max: 10, wantMode: bpf.BypassCut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fk := &fakeBypasser{modes: map[bpf.FlowKey]bpf.BypassMode{}, counts: map[bpf.FlowKey][2]bpf.DirCounts{k: kc}}
			rec := &bypassRecorder{drop: tc.drop}
			var seg reassembly.Segment
			h := newBypassHandler(rec, fk, tc.max, false, &seg, nil)
			rec.bypass = h.bypassDrop
			tab := reassembly.NewTable(reassembly.Config{}, h)
			var fed [2]uint64
			feed := func(d reassembly.Dir, seq, ack uint32, f reassembly.Flags, payload string) {
				src, dst := cli, srv
				if d == reassembly.FromServer {
					src, dst = srv, cli
				}
				seg = reassembly.Segment{TS: 1e9, Src: src.Addr().As16(), Dst: dst.Addr().As16(), SrcPort: src.Port(), DstPort: dst.Port(),
					Seq: reassembly.Seq(seq), Ack: reassembly.Seq(ack), Flags: f, Window: 1000, WScale: -1, Payload: []byte(payload)}
				fed[d]++
				tab.Feed(&seg)
			}
			const c, s = reassembly.FromClient, reassembly.FromServer
			feed(c, 100, 0, reassembly.SYN, "")
			feed(s, 500, 101, reassembly.SYN|reassembly.ACK, "")
			feed(c, 101, 501, reassembly.ACK, "")
			feed(c, 101, 501, reassembly.ACK|reassembly.PSH, "hello world!")
			feed(s, 501, 113, reassembly.ACK, "") // delivers: the bypass
			if m, ok := fk.modes[k]; !ok || m != tc.wantMode {
				t.Fatalf("kernel map %v, want %v in mode %v", fk.modes, k, tc.wantMode)
			}
			if tc.evict {
				delete(fk.modes, k)
			}
			feed(c, 113, 501, reassembly.FIN|reassembly.ACK, "")
			feed(s, 501, 114, reassembly.FIN|reassembly.ACK, "") // closes
			tab.Flush(reassembly.ReasonFlush)
			for d := range 2 {
				if got, want := rec.closed[d].Packets, fed[d]+tc.addPkts[d]; got != want {
					t.Errorf("dir %d: Closed saw %d packets, want %d", d, got, want)
				}
			}
			if tc.drop && !tc.evict && rec.closed[1].Bytes != kc[1].Bytes {
				t.Errorf("server bytes %d, want %d", rec.closed[1].Bytes, kc[1].Bytes)
			}
			if len(fk.modes) != 0 {
				t.Errorf("entries left: %v", fk.modes)
			}
			if got := h.lost.Load(); got != tc.lost {
				t.Errorf("lost %d, want %d", got, tc.lost)
			}
		})
	}
}

// TestBypassHandlerTakeError: a failing map read is counted, not fatal,
// and the inner Closed still runs.
func TestBypassHandlerTakeError(t *testing.T) {
	fk := &fakeBypasser{modes: map[bpf.FlowKey]bpf.BypassMode{}, fail: errors.New("boom")}
	rec := &bypassRecorder{drop: true}
	var seg reassembly.Segment
	var warned []error
	h := newBypassHandler(rec, fk, ^uint64(0), false, &seg, func(err error) { warned = append(warned, err) })
	rec.bypass = h.bypassDrop
	tab := reassembly.NewTable(reassembly.Config{}, h)
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:443")
	for _, x := range []struct {
		src, dst netip.AddrPort
		seq, ack uint32
		f        reassembly.Flags
		p        string
	}{
		{cli, srv, 100, 0, reassembly.SYN, ""},
		{srv, cli, 500, 101, reassembly.SYN | reassembly.ACK, ""},
		{cli, srv, 101, 501, reassembly.ACK, "hi"},
		{srv, cli, 501, 103, reassembly.ACK, ""},
	} {
		seg = reassembly.Segment{TS: 1e9, Src: x.src.Addr().As16(), Dst: x.dst.Addr().As16(), SrcPort: x.src.Port(), DstPort: x.dst.Port(),
			Seq: reassembly.Seq(x.seq), Ack: reassembly.Seq(x.ack), Flags: x.f, Window: 1000, WScale: -1, Payload: []byte(x.p)}
		tab.Feed(&seg)
	}
	tab.Flush(reassembly.ReasonFlush)
	if rec.closed[0].Packets != 2 || h.errs != 1 || len(warned) != 1 {
		t.Errorf("closed %+v, errs %d, warned %v", rec.closed[0], h.errs, warned)
	}
}

func TestDropPassInterval(t *testing.T) {
	for _, tc := range []struct{ idle, want time.Duration }{
		{0, bpf.DefaultDropPassInterval}, // the Table's default (minutes)
		{5 * time.Minute, bpf.DefaultDropPassInterval},
		{2 * time.Second, 500 * time.Millisecond},
		{time.Microsecond, time.Millisecond},
	} {
		if got := dropPassInterval(tc.idle); got != tc.want {
			t.Errorf("dropPassInterval(%v) = %v, want %v", tc.idle, got, tc.want)
		}
	}
}
