package live

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

// rec is what the tests compare of a connection.
type rec struct {
	Client, Server netip.AddrPort
	VLANs          string
	SHA            [2]string
	Delivered      [2]uint64
	Missed         [2]uint64
	Worker         int
}

func (r rec) key() string {
	return fmt.Sprintf("%v>%v%s", r.Client, r.Server, r.VLANs)
}

func (r rec) String() string {
	return fmt.Sprintf("%s c=%d+%d s=%d+%d %.8s/%.8s", r.key(), r.Delivered[0], r.Missed[0], r.Delivered[1], r.Missed[1], r.SHA[0], r.SHA[1])
}

// recorder collects a rec per closed connection from every worker.
type recorder struct {
	mu   sync.Mutex
	recs []rec
}

type recState struct{ h [2]hash.Hash }

func (rc *recorder) handler(worker int) reassembly.Handler {
	return reassembly.Funcs{
		OnOpen: func(c *reassembly.Conn) {
			c.Ctx = &recState{h: [2]hash.Hash{sha256.New(), sha256.New()}}
		},
		OnSent: func(c *reassembly.Conn, d reassembly.Data) {
			c.Ctx.(*recState).h[0].Write(d.Bytes)
		},
		OnReceived: func(c *reassembly.Conn, d reassembly.Data) {
			c.Ctx.(*recState).h[1].Write(d.Bytes)
		},
		OnClose: func(c *reassembly.Conn, _ reassembly.Reason) {
			st := c.Ctx.(*recState)
			r := rec{Client: c.Client(), Server: c.Server(), Worker: worker}
			if v := c.VLANs(); v.N > 0 {
				r.VLANs = fmt.Sprint(v.Slice())
			}
			for d := range 2 {
				r.SHA[d] = fmt.Sprintf("%x", st.h[d].Sum(nil))
				ds := c.Stats(reassembly.Dir(d))
				r.Delivered[d], r.Missed[d] = ds.Delivered, ds.Missed
			}
			rc.mu.Lock()
			rc.recs = append(rc.recs, r)
			rc.mu.Unlock()
		},
	}
}

func (rc *recorder) sorted() []rec {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := slices.Clone(rc.recs)
	slices.SortFunc(out, func(a, b rec) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// offlineRecs reassembles file with engine/offline (the -r pipeline).
func offlineRecs(t testing.TB, file string, rcfg reassembly.Config) []rec {
	t.Helper()
	var rc recorder
	_, err := offline.Run(context.Background(), offline.Config{Workers: 1, Reassembly: rcfg, Handler: rc.handler}, file)
	if err != nil {
		t.Fatal(err)
	}
	return rc.sorted()
}

// liveCapture runs the engine on v.Rx with cfg (Interface, NetNS, Handler,
// Ready and Status are set here), calls send once the capture is up,
// waits until every packet the kernel accepted has been read and nothing
// more comes, then stops the capture.
func liveCapture(t testing.TB, v *vethNS, cfg Config, rc *recorder, send func()) Summary {
	t.Helper()
	cfg.Interface, cfg.NetNS = v.Rx, v.Path
	cfg.Handler = rc.handler
	ready := make(chan struct{})
	cfg.Ready = func(Info) error { close(ready); return nil }
	var mu sync.Mutex
	var last Status
	cfg.StatusInterval = 50 * time.Millisecond
	cfg.Status = func(s Status) {
		mu.Lock()
		last = s
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Run(ctx, cfg)
		done <- result{s, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("live.Run: %v", r.err)
	}
	send()
	// settled: everything accepted has been read, unchanged for 300 ms
	deadline := time.Now().Add(30 * time.Second)
	var prev uint64
	stable := 0
	for stable < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("capture did not settle: %+v", last)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		s := last
		mu.Unlock()
		if s.Packets == prev && s.Packets+s.Drops >= s.Received && s.Received > 0 {
			stable++
		} else {
			stable = 0
		}
		prev = s.Packets
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("live.Run did not return within 5s of cancel")
	}
	if r.err != nil {
		t.Fatalf("live.Run: %v", r.err)
	}
	return r.sum
}

// genCapture writes a flowgen capture to a temp file.
func genCapture(t testing.TB, cfg flowgen.Config) string {
	t.Helper()
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "gen.pcap")
	if err := c.WritePcapFile(name); err != nil {
		t.Fatal(err)
	}
	return name
}

func diffRecs(t testing.TB, want, got []rec) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%d connections live, %d offline", len(got), len(want))
	}
	strip := func(rs []rec) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			r.Worker = 0
			m[r.String()]++
		}
		return m
	}
	w, g := strip(want), strip(got)
	n := 0
	for k, c := range w {
		if g[k] != c && n < 10 {
			t.Errorf("offline only (%d vs %d): %s", c, g[k], k)
			n++
		}
	}
	for k, c := range g {
		if w[k] != c && n < 20 {
			t.Errorf("live only (%d vs %d): %s", c, w[k], k)
			n++
		}
	}
}

// checkAffinity asserts that no flow was seen by two workers.
func checkAffinity(t testing.TB, recs []rec, workers int) {
	t.Helper()
	owner := map[string]int{}
	per := make([]int, workers)
	for _, r := range recs {
		k := r.key()
		if o, ok := owner[k]; ok && o != r.Worker {
			t.Errorf("flow %s on workers %d and %d", k, o, r.Worker)
		}
		owner[k] = r.Worker
		per[r.Worker]++
	}
	t.Logf("connections per worker: %v", per)
}

func checkClean(t testing.TB, sum Summary) {
	t.Helper()
	if sum.Kernel.Drops != 0 {
		t.Errorf("kernel drops: %+v", sum.Kernel)
	}
	if sum.RingCut != 0 {
		t.Errorf("%d frames cut by the ring", sum.RingCut)
	}
}

func TestLiveMatchesOffline(t *testing.T) {
	gen := genCapture(t, flowgen.Config{Seed: 7, Conns: 200, IPv6Share: 0.2, Reorder: 0.01, Duplicate: 0.01, Loss: 0.01})
	vlan := genCapture(t, flowgen.Config{Seed: 8, Conns: 200, VLANShare: 0.5, IPv6Share: 0.2})
	files := map[string]string{
		"flowgen":      gen,
		"flowgen-vlan": vlan,
	}
	for _, name := range []string{"sniffer-06-gmail.pcap", "tr-test-mixed.pcap", "zk-ssh-dups.pcap", "ak-twovlan.pcap", "zk-vlan-qinqinq.pcap", "sv-gap-mid-vlan.pcap"} {
		p := filepath.Join("..", "..", "testdata", "pcaps", name)
		if _, err := os.Stat(p); err == nil {
			files[name] = p
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		file := files[name]
		want := offlineRecs(t, file, reassembly.Config{})
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(t *testing.T) {
				v := newVethNS(t)
				var rc recorder
				sum := liveCapture(t, v, Config{Workers: workers}, &rc, func() { v.replay(t, file, "--mbps=200") })
				got := rc.sorted()
				diffRecs(t, want, got)
				checkAffinity(t, got, workers)
				checkClean(t, sum)
				t.Logf("frames %d, segments %d, bpf %+v, kernel %+v", sum.Packets, sum.Segments, sum.BPF, sum.Kernel)
			})
		}
	}
}

func TestBypass(t *testing.T) {
	file := genCapture(t, flowgen.Config{Seed: 3, Conns: 60, LargeShare: 0.3, LargeMaxBytes: 2 << 20, VLANShare: 0.3, IPv6Share: 0.3})
	for _, ignoreVLAN := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreVLAN=%v", ignoreVLAN), func(t *testing.T) { testBypass(t, file, reassembly.Config{IgnoreVLAN: ignoreVLAN}) })
	}
}

func testBypass(t *testing.T, file string, rcfg reassembly.Config) {
	const depth = 64 << 10
	want := offlineRecs(t, file, rcfg)
	v := newVethNS(t)
	var rc recorder
	var capt *Capture
	sum := liveCapture(t, v, Config{Workers: 2, MaxStreamBytes: depth, Reassembly: rcfg, Started: func(c *Capture) { capt = c }}, &rc, func() { v.replay(t, file, "--mbps=200") })
	if s := capt.Snapshot(); s.Packets != sum.Packets || s.BPF != sum.BPF || s.Reassembly.Opened != sum.Reassembly.Opened || s.Decode.TCP != sum.Decode.TCP {
		t.Errorf("Capture.Snapshot after Run differs from the Summary:\n%+v\n%+v", s, sum)
	}
	got := rc.sorted()
	checkClean(t, sum)
	checkAffinity(t, got, 2)
	t.Logf("bypassed conns %d (errors %d), bpf %+v", sum.BypassedConns, sum.BypassErrors, sum.BPF)
	if sum.BypassErrors != 0 {
		t.Errorf("%d bypass errors", sum.BypassErrors)
	}
	if sum.BPF.Bypassed == 0 || sum.BypassedConns == 0 {
		t.Fatalf("nothing bypassed: %+v", sum.BPF)
	}
	if len(got) != len(want) {
		t.Fatalf("%d connections live, %d offline", len(got), len(want))
	}
	wantBy := map[string][]rec{}
	for _, r := range want {
		wantBy[r.key()] = append(wantBy[r.key()], r)
	}
	var large, cut int
	for _, g := range got {
		ws := wantBy[g.key()]
		if len(ws) != 1 {
			t.Fatalf("%s: %d offline connections", g.key(), len(ws))
		}
		w := ws[0]
		big := w.Delivered[0] > depth || w.Delivered[1] > depth
		for d := range 2 {
			// the stream lengths are right either way
			if g.Delivered[d]+g.Missed[d] != w.Delivered[d]+w.Missed[d] {
				t.Errorf("%s dir %d: live %d+%d, offline %d+%d", g.key(), d, g.Delivered[d], g.Missed[d], w.Delivered[d], w.Missed[d])
			}
		}
		if !big {
			if g.String() != w.String() {
				t.Errorf("small connection differs:\n live    %s\n offline %s", g, w)
			}
			continue
		}
		large++
		if g.Missed[0]+g.Missed[1] > 0 {
			cut++
		}
	}
	t.Logf("%d connections past %d bytes, %d of them cut by the kernel", large, depth, cut)
	if large == 0 || cut == 0 {
		t.Errorf("no connection was cut (%d large)", large)
	}
	if uint64(large) != sum.BypassedConns {
		t.Errorf("%d large connections, %d bypassed", large, sum.BypassedConns)
	}
}

func TestShutdownUnderTraffic(t *testing.T) {
	file := genCapture(t, flowgen.Config{Seed: 5, Conns: 300, Open: 0.5})
	v := newVethNS(t)
	var rc recorder
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	started := make(chan *Capture, 1)
	var info Info
	go func() {
		s, err := Run(ctx, Config{Interface: v.Rx, NetNS: v.Path, Workers: 2, Handler: rc.handler,
			Started: func(c *Capture) { started <- c },
			Ready:   func(i Info) error { info = i; close(ready); return nil }})
		done <- result{s, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		t.Fatal(r.err)
	}
	replay := exec.Command("ip", "netns", "exec", v.Name, "tcpreplay", "-q", "-i", v.Tx, "--topspeed", "--loop=1000", file)
	if err := replay.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = replay.Process.Kill()
		_ = replay.Wait()
	}()
	time.Sleep(700 * time.Millisecond)
	before := (<-started).Snapshot()
	t0 := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s")
	}
	took := time.Since(t0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("returned %v after cancel; frames %d, kernel %+v, closed by shutdown %d", took, r.sum.Packets, r.sum.Kernel, r.sum.Reassembly.ClosedBy(reassembly.ReasonShutdown))
	// The wall time depends on the machine's load (-race, parallel
	// packages); what must hold is that the stop does not follow the
	// traffic: at most one lap of each ring is read after it (TestDrain
	// checks that the lap ends at the first block opened after the stop).
	if after, lap := r.sum.Bytes-before.Bytes, uint64(info.Workers*info.RingBytes); after > lap {
		t.Errorf("%d bytes read after the cancel, more than a lap of the rings (%d)", after, lap)
	}
	if r.sum.Packets == 0 {
		t.Error("no traffic captured")
	}
	if r.sum.Reassembly.ClosedBy(reassembly.ReasonShutdown) == 0 {
		t.Error("no connection closed with reason shutdown")
	}
	if n := len(rc.sorted()); uint64(n) != r.sum.Reassembly.Opened {
		t.Errorf("%d connections closed, %d opened", n, r.sum.Reassembly.Opened)
	}
}

// TestSnaplen: a short snap length cuts payloads in the kernel; the cut
// bytes are gaps, the stream lengths stay right.
func TestSnaplen(t *testing.T) {
	file := genCapture(t, flowgen.Config{Seed: 12, Conns: 40, VLANShare: 0.3})
	want := offlineRecs(t, file, reassembly.Config{})
	v := newVethNS(t)
	var rc recorder
	sum := liveCapture(t, v, Config{Workers: 2, Snaplen: 100}, &rc, func() { v.replay(t, file, "--mbps=200") })
	got := rc.sorted()
	if len(got) != len(want) {
		t.Fatalf("%d connections, want %d", len(got), len(want))
	}
	if sum.Decode.SnapCutPackets == 0 || sum.Reassembly.MissedBytes == 0 {
		t.Fatalf("nothing cut: %+v", sum.Decode)
	}
	for i := range got {
		for d := range 2 {
			if got[i].Delivered[d]+got[i].Missed[d] != want[i].Delivered[d]+want[i].Missed[d] {
				t.Errorf("%s: %d+%d, want %d+%d", got[i].key(), got[i].Delivered[d], got[i].Missed[d], want[i].Delivered[d], want[i].Missed[d])
			}
		}
	}
}

// TestInterfaceGone: the interface disappears under the capture: Run
// stops promptly with an error (and its Summary).
func TestInterfaceGone(t *testing.T) {
	v := newVethNS(t)
	var rc recorder
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), Config{Interface: v.Rx, NetNS: v.Path, Workers: 2, Handler: rc.handler,
			Ready: func(Info) error { close(ready); return nil }})
		done <- err
	}()
	<-ready
	if err := run("ip", "-n", v.Name, "link", "del", v.Tx); err != nil { // takes its peer Rx with it
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error")
		}
		t.Log(err)
	case <-time.After(2 * time.Second):
		t.Fatal("Run still running 2s after the interface was deleted")
	}
}

// TestRawIPTun captures on a tun device (ARPHRD_NONE: frames are bare IP
// packets, LinkRaw) into which the test writes the IP packets of a
// generated capture; the streams match -r of the Ethernet capture.
func TestRawIPTun(t *testing.T) {
	v := newVethNS(t)
	if err := run("ip", "-n", v.Name, "tuntap", "add", "mode", "tun", "name", "fltun"); err != nil {
		t.Skipf("no tun device: %v", err)
	}
	if err := run("ip", "-n", v.Name, "link", "set", "fltun", "up"); err != nil {
		t.Fatal(err)
	}
	cfg := flowgen.Config{Seed: 13, Conns: 100, IPv6Share: 0.3, Reorder: 0.01}
	file := genCapture(t, cfg)
	want := offlineRecs(t, file, reassembly.Config{})
	c := generate(t, cfg)

	var tun *os.File
	err := afpacket.InNetNS(v.Path, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq("fltun")
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return err
		}
		tun = os.NewFile(uintptr(fd), "tun")
		return nil
	})
	if err != nil {
		t.Skipf("cannot open the tun device: %v", err)
	}
	defer tun.Close()

	var rc recorder
	tv := &vethNS{Name: v.Name, Path: v.Path, Rx: "fltun"}
	sum := liveCapture(t, tv, Config{Workers: 2}, &rc, func() {
		var frame []byte
		for _, p := range c.All() {
			frame = p.AppendFrame(frame[:0])
			if _, err := tun.Write(frame[14:]); err != nil { // no VLANs in this capture
				t.Fatal(err)
			}
		}
	})
	if sum.LinkType != decode.LinkRaw {
		t.Errorf("link type %v", sum.LinkType)
	}
	checkClean(t, sum)
	got := rc.sorted()
	diffRecs(t, want, got)
	checkAffinity(t, got, 2)
}
