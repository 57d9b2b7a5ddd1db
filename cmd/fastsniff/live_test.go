package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// The -i tests replay captures with tcpreplay into one end of a veth pair
// in a network namespace the test creates and deletes (also on failure),
// and capture on the other end, which has no address.

type liveNS struct {
	name, path string
	tx, rx     string
}

var liveNSSeq atomic.Int32

func liveCmd(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func newLiveNS(t *testing.T) *liveNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and captures on it")
	}
	for _, tool := range []string{"ip", "tcpreplay", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	v := &liveNS{name: fmt.Sprintf("fscli%d-%d", os.Getpid(), liveNSSeq.Add(1)), tx: "fltx", rx: "flrx"}
	v.path = "/run/netns/" + v.name
	_ = liveCmd("ip", "netns", "del", v.name)
	if err := liveCmd("ip", "netns", "add", v.name); err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := liveCmd("ip", "netns", "del", v.name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ns := []string{"ip", "netns", "exec", v.name}
	for _, s := range [][]string{
		append(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"),
		append(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"),
		{"ip", "-n", v.name, "link", "add", v.tx, "mtu", "65535", "type", "veth", "peer", "name", v.rx, "mtu", "65535"},
		append(ns, "ethtool", "-K", v.tx, "tso", "off", "gso", "off", "gro", "off"),
		append(ns, "ethtool", "-K", v.rx, "gro", "off"),
		{"ip", "-n", v.name, "link", "set", v.tx, "up"},
		{"ip", "-n", v.name, "link", "set", v.rx, "up"},
	} {
		if err := liveCmd(s...); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (v *liveNS) replay(t *testing.T, file string, flags ...string) {
	t.Helper()
	args := append([]string{"ip", "netns", "exec", v.name, "tcpreplay", "-q", "-i", v.tx}, flags...)
	if err := liveCmd(append(args, file)...); err != nil {
		t.Fatal(err)
	}
}

// lineWatch is a stderr that signals when a line containing want appears.
type lineWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func newLineWatch(want string) *lineWatch {
	return &lineWatch{want: want, seen: make(chan struct{})}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// liveRunCLI runs `fastsniff -i` (in process, through run) on v.rx with
// args, calls send once it listens, lets the capture settle, stops it as
// SIGINT would, and returns the exit code and stderr.
func liveRunCLI(t *testing.T, v *liveNS, send func(), args ...string) (int, string) {
	t.Helper()
	return liveRunCLICtx(t, context.Background(), v, send, args...)
}

// liveRunCLICtx is liveRunCLI with a base context (for test hooks).
func liveRunCLICtx(t *testing.T, base context.Context, v *liveNS, send func(), args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	stderr := newLineWatch("fastsniff: listening on")
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"-i", v.rx, "--netns", v.path}, args...), io.Discard, stderr)
	}()
	select {
	case <-stderr.seen:
	case c := <-code:
		t.Fatalf("exit %d before listening: %s", c, stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("not listening after 20s: %s", stderr)
	}
	send()
	time.Sleep(1200 * time.Millisecond) // > block timeout + a status line
	t0 := time.Now()
	cancel()
	select {
	case c := <-code:
		if d := time.Since(t0); d > stopLimit {
			t.Errorf("took %v to stop (limit %v)", d, stopLimit)
		}
		return c, stderr.String()
	case <-time.After(10 * time.Second):
		t.Fatalf("did not stop 10s after SIGINT: %s", stderr)
	}
	return 0, ""
}

func liveGen(t *testing.T, cfg flowgen.Config) string {
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

// liveConnSet reads a conn log and returns its connections as sorted
// "client server vlan bytes digests" strings.
func liveConnSet(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := connlog.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s:%d>%s:%d vlan%v o=%d/%d r=%d/%d %s %s service=%s", r.OrigH, r.OrigP, r.RespH, r.RespP, r.VLAN,
			r.OrigDelivered, r.OrigBytes, r.RespDelivered, r.RespBytes, r.OrigSHA256, r.RespSHA256, r.Service))
	}
	slices.Sort(out)
	return out
}

func liveOfflineSet(t *testing.T, file string) []string {
	t.Helper()
	log := filepath.Join(t.TempDir(), "offline.log")
	var stderr bytes.Buffer
	if c := run(context.Background(), []string{"-r", file, "--conn-log", log, "--digest", "--http-log", os.DevNull, "-q"}, io.Discard, &stderr); c != 0 {
		t.Fatalf("-r: exit %d: %s", c, stderr.String())
	}
	return liveConnSet(t, log)
}

func liveCompare(t *testing.T, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	t.Errorf("-i found %d connections, -r %d", len(got), len(want))
	for i, n := 0, 0; i < len(want) && n < 10; i++ {
		if !slices.Contains(got, want[i]) {
			t.Errorf("-r only: %s", want[i])
			n++
		}
	}
	for i, n := 0, 0; i < len(got) && n < 10; i++ {
		if !slices.Contains(want, got[i]) {
			t.Errorf("-i only: %s", got[i])
			n++
		}
	}
}

func TestLiveCLIMatchesOffline(t *testing.T) {
	files := map[string]string{
		"flowgen": liveGen(t, flowgen.Config{Seed: 9, Conns: 200, VLANShare: 0.3, IPv6Share: 0.2, Reorder: 0.01, Loss: 0.01}),
	}
	files["gmail"] = filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap")
	for name, file := range files {
		want := liveOfflineSet(t, file)
		for _, workers := range []string{"1", "2"} {
			t.Run(name+"/workers="+workers, func(t *testing.T) {
				v := newLiveNS(t)
				log := filepath.Join(t.TempDir(), "live.log")
				pcap := filepath.Join(t.TempDir(), "live.pcap")
				code, stderr := liveRunCLI(t, v, func() { v.replay(t, file, "--mbps=200") },
					"--workers", workers, "--conn-log", log, "--digest", "--http-log", os.DevNull, "-w", pcap)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if !strings.Contains(stderr, "dropped 0 (") || !strings.Contains(stderr, "pcap: ") {
					t.Errorf("summary: %s", stderr)
				}
				if !strings.Contains(stderr, "pkt/s") {
					t.Errorf("no status line: %s", stderr)
				}
				liveCompare(t, want, liveConnSet(t, log))
				// the -w file holds the same traffic
				liveCompare(t, want, liveOfflineSet(t, pcap))
			})
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestLiveCLIErrors: one line, non-zero exit.
func TestLiveCLIErrors(t *testing.T) {
	v := newLiveNS(t)
	if err := liveCmd("ip", "-n", v.name, "link", "add", "fldown", "type", "veth", "peer", "name", "fldown2"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown interface", []string{"-i", "nosuch0"}, "no such interface"},
		{"interface down", []string{"-i", "fldown"}, "is down"},
		{"bad filter", []string{"-i", v.rx, "tcp", "port", "nonsense"}, "filter"},
		{"bad ring", []string{"-i", v.rx, "--ring-size", "-1"}, "--ring-size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--netns", v.path}, c.args...), io.Discard, &stderr)
			msg := stderr.String()
			if code == 0 {
				t.Fatalf("exit 0: %s", msg)
			}
			if !strings.Contains(msg, c.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("want one line with %q, got %q", c.want, msg)
			}
		})
	}
}

// liveBuild builds fastsniff for the tests that need a process of its own.
func liveBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fastsniff")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil { // nobody runs it with -Z
		t.Fatal(err)
	}
	return bin
}

// TestLiveCLICapabilities runs the binary without a capability it needs:
// one line naming it, non-zero exit.
func TestLiveCLICapabilities(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	v := newLiveNS(t)
	bin := liveBuild(t)
	for _, c := range []struct{ drop, want string }{
		{"-net_raw", "CAP_NET_RAW"},
		{"-bpf,-sys_admin", "CAP_BPF"},
	} {
		t.Run(c.want, func(t *testing.T) {
			cmd := exec.Command("ip", "netns", "exec", v.name, "setpriv", "--inh-caps=-all", "--bounding-set="+c.drop, bin, "-i", v.rx, "-q")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := strings.TrimSpace(stderr.String())
			if err == nil {
				t.Fatalf("exit 0: %s", msg)
			}
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "setcap") || strings.Contains(msg, "\n") {
				t.Errorf("want one line naming %s: %q", c.want, msg)
			}
			t.Log(msg)
		})
	}
}

// TestLiveCLIDropPrivileges: -Z nobody after set-up; outputs are opened as
// nobody, the bypass map is still written, SIGINT exits 0.
func TestLiveCLIDropPrivileges(t *testing.T) {
	v := newLiveNS(t)
	bin := liveBuild(t)
	file := liveGen(t, flowgen.Config{Seed: 4, Conns: 30, LargeShare: 0.3, LargeMaxBytes: 1 << 20})
	out, err := os.MkdirTemp("", "fastsniff-z")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(out)
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(out, "conn.log")
	cmd := exec.Command("ip", "netns", "exec", v.name, bin, "-i", v.rx, "-Z", "nobody", "--conn-log", log, "--max-stream-bytes", "64k")
	stderr := newLineWatch("fastsniff: listening on")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	select {
	case <-stderr.seen:
	case <-time.After(20 * time.Second):
		t.Fatalf("not listening: %s", stderr)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534") {
		t.Errorf("not running as nobody:\n%s", status)
	}
	v.replay(t, file, "--mbps=200")
	time.Sleep(1200 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	msg := stderr.String()
	t.Log(msg)
	if strings.Contains(msg, "warning") || strings.Contains(msg, "bypassed 0 packets") {
		t.Errorf("bypass did not work after -Z: %s", msg)
	}
	st, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(liveConnSet(t, log)); n != 30 {
		t.Errorf("%d connections logged", n)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
		t.Errorf("conn log owned by uid %d, not nobody", uid)
	}
}

// TestLiveCLIMetrics scrapes --metrics (on loopback) at the end of a live
// capture of the gmail dump: the kernel, eBPF and engine counters agree
// with each other and with the capture (113 packets, 7 connections).
func TestLiveCLIMetrics(t *testing.T) {
	file := filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap")
	if !fileExists(file) {
		t.Fatal("bundled capture missing: " + file)
	}
	v := newLiveNS(t)
	var m map[string]float64
	ctx := withMetricsHook(context.Background(), func(a string) { m = scrapeMetrics(t, a) })
	code, stderr := liveRunCLICtx(t, ctx, v, func() { v.replay(t, file, "--mbps=100") }, "--workers", "2", "--metrics", "127.0.0.1:0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if m == nil {
		t.Fatal("metrics were not scraped")
	}
	for name, want := range map[string]float64{
		"fastsniff_kernel_drops_total": 0,
		"fastsniff_bpf_passed_total":   113,
		"fastsniff_bpf_filtered_total": 0,
		"fastsniff_bpf_bypassed_total": 0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// the veth may carry a few packets of its own (IPv6 is off, but ARP
	// or similar): the kernel and eBPF saw at least the replay
	if m["fastsniff_kernel_packets_total"] < 113 || m["fastsniff_bpf_seen_total"] < 113 {
		t.Errorf("kernel packets %v, bpf seen %v: want at least 113", m["fastsniff_kernel_packets_total"], m["fastsniff_bpf_seen_total"])
	}
	var opened float64
	for k, val := range m {
		if strings.HasPrefix(k, "fastsniff_connections_opened_total") {
			opened += val
		}
	}
	if opened != 7 {
		t.Errorf("connections opened %v, want 7 (metrics: %v)", opened, m)
	}
}
