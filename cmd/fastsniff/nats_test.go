package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fastsniff/fastsniff/flowgen"
)

// The --nats tests run the real nats-server (Debian's, which .ci/run
// installs) on loopback ports they pick, with JetStream in a temporary
// directory, and kill it at the end (also on failure).

type natsNode struct {
	name        string
	port, cport int
	args        []string
	cmd         *exec.Cmd
	logPath     string
}

type natsCluster struct{ nodes []*natsNode }

func natsNeed(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Skip("needs nats-server (apt-get install nats-server; .ci/run installs it)")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newNATS prepares n servers (one: standalone; more: one cluster) without
// starting them.
func newNATS(t *testing.T, n int) *natsCluster {
	t.Helper()
	natsNeed(t)
	dir := t.TempDir()
	c := &natsCluster{}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("n%d", i), port: freePort(t), cport: freePort(t)})
	}
	for _, nd := range c.nodes {
		nd.logPath = filepath.Join(dir, nd.name+".log")
		nd.args = []string{"-js", "-a", "127.0.0.1", "-p", strconv.Itoa(nd.port), "-n", nd.name, "-sd", filepath.Join(dir, nd.name)}
		if n > 1 {
			var routes []string
			for _, o := range c.nodes {
				if o != nd {
					routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", o.cport))
				}
			}
			nd.args = append(nd.args, "--cluster_name", "fastsniff-test", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", nd.cport), "--routes", strings.Join(routes, ","))
		}
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			nd.kill()
		}
		if t.Failed() {
			for _, nd := range c.nodes {
				b, _ := os.ReadFile(nd.logPath)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("%s log (end):\n%s", nd.name, b)
			}
		}
	})
	return c
}

// startNATS starts n servers and waits until JetStream answers.
func startNATS(t *testing.T, n int) *natsCluster {
	t.Helper()
	c := newNATS(t, n)
	for _, nd := range c.nodes {
		nd.start(t)
	}
	c.waitReady(t)
	return c
}

func (c *natsCluster) url() string {
	var us []string
	for _, nd := range c.nodes {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", nd.port))
	}
	return strings.Join(us, ",")
}

func (nd *natsNode) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	nd.cmd = exec.Command("nats-server", nd.args...)
	nd.cmd.Stdout, nd.cmd.Stderr = log, log
	// killed with the test binary too: a -timeout panic runs no Cleanup
	nd.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := nd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "nats-server "+nd.name+" listening", func() bool {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", nd.port), 100*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}

// kill stops the server as a crash would (SIGKILL).
func (nd *natsNode) kill() {
	if nd.cmd != nil && nd.cmd.Process != nil {
		_ = nd.cmd.Process.Signal(syscall.SIGCONT) // in case it was stopped
		_ = nd.cmd.Process.Kill()
		_ = nd.cmd.Wait()
		nd.cmd = nil
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond) // short: the kill test must catch a run midway
	}
}

// js returns a JetStream client on the cluster, closed at the end of t.
func (c *natsCluster) js(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func (c *natsCluster) waitReady(t *testing.T) {
	t.Helper()
	js := c.js(t)
	waitFor(t, 30*time.Second, "JetStream ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
}

// streamInfo returns the FASTSNIFF stream's info, nil if unavailable.
func streamInfo(js jetstream.JetStream) *jetstream.StreamInfo {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "FASTSNIFF")
	if err != nil {
		return nil
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil
	}
	return info
}

func streamMsgs(js jetstream.JetStream) uint64 {
	if info := streamInfo(js); info != nil {
		return info.State.Msgs
	}
	return 0
}

// natsCapture writes a capture of flowgen connections and HTTP
// transactions (two files, read in order as one capture).
func natsCapture(t *testing.T, dir string, packets, httpConns int) []string {
	t.Helper()
	cfg := flowgen.Bench(11, packets)
	cfg.MaxBytes = 8 << 10 // many short connections
	cfg.LargeShare = 0
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "gen.pcap")
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(dir, "http.pcap")
	writeHTTPCapture(t, web, httpConns, 4)
	return []string{gen, web}
}

func rArgs(files []string) []string {
	var a []string
	for _, f := range files {
		a = append(a, "-r", f)
	}
	return a
}

// fileRun runs `fastsniff -r` on files into conn and HTTP logs in dir.
func fileRun(t *testing.T, dir, name string, files []string, extra ...string) (connPath, httpPath string) {
	t.Helper()
	connPath, httpPath = filepath.Join(dir, name+".conn"), filepath.Join(dir, name+".http")
	var stderr bytes.Buffer
	args := append(append(rArgs(files), "-q", "--conn-log", connPath, "--http-log", httpPath), extra...)
	if code := run(context.Background(), args, io.Discard, &stderr); code != 0 {
		t.Fatalf("fastsniff %v: exit %d: %s", args, code, stderr.String())
	}
	return connPath, httpPath
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

var sensorField = regexp.MustCompile(`,"sensor":"[A-Za-z0-9_-]+"}$`)

// stripSensor removes the sensor field of each line; sensors counts
// the lines by sensor.
func stripSensor(lines []string) (out []string, sensors map[string]int) {
	sensors = map[string]int{}
	for _, l := range lines {
		m := sensorField.FindString(l)
		sensors[strings.TrimSuffix(strings.TrimPrefix(m, `,"sensor":"`), `"}`)]++
		out = append(out, strings.TrimSuffix(l, m)+"}")
	}
	return out, sensors
}

// sameRecords checks got and want hold the same lines, each as often.
func sameRecords(t *testing.T, what string, got, want []string) {
	t.Helper()
	g := append([]string(nil), got...)
	w := append([]string(nil), want...)
	sort.Strings(g)
	sort.Strings(w)
	for i := 1; i < len(g); i++ {
		if g[i] == g[i-1] {
			t.Errorf("%s: record twice: %s", what, g[i])
			break
		}
	}
	if len(g) != len(w) {
		t.Errorf("%s: %d records, want %d", what, len(g), len(w))
	}
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			t.Errorf("%s: first difference at %d:\n got %s\nwant %s", what, i, g[i], w[i])
			return
		}
	}
}

// natsCollect runs `fastsniff collect` until the stream is idle and
// returns the lines written.
func natsCollect(t *testing.T, url, dir, durable string) (conn, http []string) {
	t.Helper()
	cp, hp := filepath.Join(dir, "collected-"+durable+".conn"), filepath.Join(dir, "collected-"+durable+".http")
	var stderr bytes.Buffer
	args := []string{"collect", "--nats", url, "--durable", durable, "--conn-log", cp, "--http-log", hp, "--idle", "2s"}
	t0 := time.Now()
	if code := run(context.Background(), args, io.Discard, &stderr); code != 0 {
		t.Fatalf("collect: exit %d: %s", code, stderr.String())
	}
	t.Logf("collect (%v): %s", time.Since(t0).Round(time.Millisecond), strings.TrimSpace(stderr.String()))
	return readLines(t, cp), readLines(t, hp)
}

// syncBuf is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var natsSummary = regexp.MustCompile(`nats: published (\d+), acked (\d+), retried (\d+), spooled (\d+), replayed (\d+), dropped (\d+), spool bytes (\d+) \((\d+) records unacked\)`)

// natsStats parses the summary line: published, acked, retried, spooled,
// replayed, dropped, spool bytes, unacked.
func natsStats(t *testing.T, stderr string) [8]uint64 {
	t.Helper()
	m := natsSummary.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no nats summary line in:\n%s", stderr)
	}
	var v [8]uint64
	for i := range v {
		v[i], _ = strconv.ParseUint(m[i+1], 10, 64)
	}
	return v
}

// TestNATSClusterTwoSensors: two sensors publish the two flowsplit halves
// of a capture to a 3-node cluster (stream of 3 replicas) while the stream
// leader is killed and restarted; collect then writes exactly what one
// `fastsniff -r` of the whole capture writes, record for record.
func TestNATSClusterTwoSensors(t *testing.T) {
	c := startNATS(t, 3)
	dir := t.TempDir()
	files := natsCapture(t, dir, 60000, 500)
	refConn, refHTTP := fileRun(t, dir, "ref", files)
	split := filepath.Join(dir, "flowsplit")
	if out, err := exec.Command("go", "build", "-o", split, "../flowsplit").CombinedOutput(); err != nil {
		t.Fatalf("go build flowsplit: %v: %s", err, out)
	}
	if out, err := exec.Command(split, append([]string{"-q", "-n", "2", "-o", filepath.Join(dir, "part")}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("flowsplit: %v: %s", err, out)
	}
	wantConn, wantHTTP := readLines(t, refConn), readLines(t, refHTTP)
	if len(wantConn) < 2000 || len(wantHTTP) < 2000 {
		t.Fatalf("capture too small: %d connections, %d transactions", len(wantConn), len(wantHTTP))
	}

	js := c.js(t)
	var wg sync.WaitGroup
	var codes [2]int
	var errs [2]syncBuf
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"-r", filepath.Join(dir, fmt.Sprintf("part-%d.pcap", k)), "--workers", "1",
				"--nats", c.url(), "--nats-replicas", "3", "--sensor", fmt.Sprintf("sensor%d", k),
				"--spool", filepath.Join(dir, fmt.Sprintf("spool%d", k)), "--nats-drain-timeout", "40s"}
			codes[k] = run(context.Background(), args, io.Discard, &errs[k])
		}()
	}
	// kill the stream's leader once records flow, restart it once more
	// arrived without it
	var leader string
	waitFor(t, 20*time.Second, "records in the stream", func() bool {
		info := streamInfo(js)
		if info == nil || info.State.Msgs == 0 || info.Cluster == nil || info.Cluster.Leader == "" {
			return false
		}
		leader = info.Cluster.Leader
		return true
	})
	var victim *natsNode
	for _, nd := range c.nodes {
		if nd.name == leader {
			victim = nd
		}
	}
	if victim == nil {
		t.Fatalf("leader %q is none of the nodes", leader)
	}
	atKill := streamMsgs(js)
	victim.kill()
	total := uint64(len(wantConn) + len(wantHTTP))
	waitFor(t, 30*time.Second, "records stored without the killed node", func() bool {
		n := streamMsgs(js)
		return n > atKill+200 || n == total
	})
	victim.start(t)
	wg.Wait()
	for k := range codes {
		if codes[k] != 0 {
			t.Fatalf("sensor %d: exit %d: %s", k, codes[k], errs[k].String())
		}
		st := natsStats(t, errs[k].String())
		if st[1] != st[0] || st[7] != 0 || st[6] != 0 || st[5] != 0 {
			t.Errorf("sensor %d: not everything acknowledged: %s", k, errs[k].String())
		}
	}
	t.Logf("%d records in the stream when %s (leader) was killed, of %d; sensors: %s / %s", atKill, leader, total,
		natsSummary.FindString(errs[0].String()), natsSummary.FindString(errs[1].String()))
	// the restarted node caught up: every replica current
	waitFor(t, 30*time.Second, "replicas current", func() bool {
		info := streamInfo(js)
		if info == nil || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			return false
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	})
	conn, http := natsCollect(t, c.url(), dir, "all")
	conn, byConn := stripSensor(conn)
	http, byHTTP := stripSensor(http)
	if len(byConn) != 2 || byConn["sensor0"] == 0 || byConn["sensor1"] == 0 || len(byHTTP) != 2 {
		t.Errorf("records by sensor: conn %v, http %v", byConn, byHTTP)
	}
	sameRecords(t, "conn", conn, wantConn)
	sameRecords(t, "http", http, wantHTTP)
	if n := streamMsgs(js); n != total {
		t.Errorf("stream holds %d messages, want %d (duplicates not dropped)", n, total)
	}
}

// TestNATSDownAtStart: the server is down while the sensor reads; every
// record waits in the spool and arrives once it is up, in order.
func TestNATSDownAtStart(t *testing.T) {
	c := newNATS(t, 1)
	dir := t.TempDir()
	files := natsCapture(t, dir, 20000, 100)
	connPath, httpPath := filepath.Join(dir, "f.conn"), filepath.Join(dir, "f.http")
	stderr := newLineWatch("to be acknowledged by NATS")
	code := make(chan int, 1)
	go func() {
		args := append(rArgs(files), "--workers", "1", "--sensor", "s1", "--conn-log", connPath, "--http-log", httpPath,
			"--nats", c.url(), "--spool", filepath.Join(dir, "spool"), "--nats-drain-timeout", "40s")
		code <- run(context.Background(), args, io.Discard, stderr)
	}()
	select {
	case <-stderr.seen:
	case n := <-code:
		t.Fatalf("exit %d before waiting for NATS: %s", n, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("not draining after 30s: %s", stderr)
	}
	c.nodes[0].start(t)
	if n := <-code; n != 0 {
		t.Fatalf("exit %d: %s", n, stderr)
	}
	wantConn, wantHTTP := readLines(t, connPath), readLines(t, httpPath)
	st := natsStats(t, stderr.String())
	if total := uint64(len(wantConn) + len(wantHTTP)); st[0] != total || st[1] != total || st[3] != total || st[7] != 0 {
		t.Errorf("want %d published, acked and spooled: %s", total, stderr)
	}
	conn, http := natsCollect(t, c.url(), dir, "c")
	// the files have the sensor field too (--sensor): equal, in order
	if strings.Join(conn, "\n") != strings.Join(wantConn, "\n") {
		sameRecords(t, "conn", conn, wantConn)
		t.Errorf("conn records out of order")
	}
	if strings.Join(http, "\n") != strings.Join(wantHTTP, "\n") {
		sameRecords(t, "http", http, wantHTTP)
		t.Errorf("http records out of order")
	}
	if len(wantConn) == 0 || !strings.HasSuffix(wantConn[0], `,"sensor":"s1"}`) {
		t.Errorf("file line without the sensor field: %.200s", wantConn)
	}
}

// TestNATSSensorKilled: a sensor killed with SIGKILL while records are
// unacknowledged, restarted on the same input with the same spool: none
// missing, none twice.
func TestNATSSensorKilled(t *testing.T) {
	c := startNATS(t, 1)
	dir := t.TempDir()
	files := natsCapture(t, dir, 40000, 300)
	refConn, refHTTP := fileRun(t, dir, "ref", files)
	wantConn, wantHTTP := readLines(t, refConn), readLines(t, refHTTP)
	total := uint64(len(wantConn) + len(wantHTTP))
	bin := liveBuild(t)
	js := c.js(t)
	args := append(rArgs(files), "--nats", c.url(), "--sensor", "k1", "--spool", filepath.Join(dir, "spool"), "--nats-drain-timeout", "30s")
	var stderr1 syncBuf
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// stop the server as soon as records arrive, so that the sensor is
	// killed with records published but not acknowledged
	waitFor(t, 20*time.Second, "records in the stream", func() bool { return streamMsgs(js) > 0 })
	srv := c.nodes[0].cmd.Process
	if err := srv.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let publishes pile up unanswered
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := srv.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	atKill := streamMsgs(js)
	if atKill == 0 || atKill >= total {
		t.Fatalf("%d of %d records in the stream when the sensor was killed: not mid-run", atKill, total)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("restart: %v: %s", err, out)
	}
	// the records the killed run held in memory only come again from the
	// input, with the same IDs: the stream drops those it had
	st := natsStats(t, string(out))
	if st[1] != total+st[4] || st[7] != 0 || st[5] != 0 {
		t.Errorf("restart: want all %d acked (and the %d replayed): %s", total, st[4], out)
	}
	t.Logf("killed with %d of %d records stored; restart: %s", atKill, total, natsSummary.FindString(string(out)))
	conn, http := natsCollect(t, c.url(), dir, "k")
	conn, _ = stripSensor(conn)
	http, _ = stripSensor(http)
	sameRecords(t, "conn", conn, wantConn)
	sameRecords(t, "http", http, wantHTTP)
}

// writeEmptyPcap writes a capture without packets.
func writeEmptyPcap(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pcapgo.NewWriter(f).WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
}

// TestNATSSpoolFull: with the server down, a small spool keeps the oldest
// records and drops the rest, counted exactly; a later run sends what it
// kept.
func TestNATSSpoolFull(t *testing.T) {
	c := newNATS(t, 1)
	dir := t.TempDir()
	files := natsCapture(t, dir, 20000, 100)
	connPath, httpPath := filepath.Join(dir, "f.conn"), filepath.Join(dir, "f.http")
	spool := filepath.Join(dir, "spool")
	var stderr bytes.Buffer
	args := append(rArgs(files), "--workers", "1", "--sensor", "s1", "--conn-log", connPath, "--http-log", httpPath,
		"--nats", c.url(), "--spool", spool, "--spool-max", "64k", "--nats-drain-timeout", "300ms")
	if code := run(context.Background(), args, io.Discard, &stderr); code != exitUnacked {
		t.Fatalf("exit %d, want %d: %s", code, exitUnacked, stderr.String())
	}
	wantConn, wantHTTP := readLines(t, connPath), readLines(t, httpPath)
	total := uint64(len(wantConn) + len(wantHTTP))
	st := natsStats(t, stderr.String())
	dropped, kept := st[5], st[7]
	if dropped == 0 || kept == 0 || dropped+kept != total || st[3] != kept || st[6] > 64<<10 {
		t.Fatalf("%d records: dropped %d + kept %d: %s", total, dropped, kept, stderr.String())
	}
	if !strings.Contains(stderr.String(), "full") || !strings.Contains(stderr.String(), "left in spool") {
		t.Errorf("no warning about the full spool or the records left: %s", stderr.String())
	}
	// the server comes up; a run without packets sends what was kept
	c.nodes[0].start(t)
	c.waitReady(t)
	empty := filepath.Join(dir, "empty.pcap")
	writeEmptyPcap(t, empty)
	stderr.Reset()
	if code := run(context.Background(), []string{"-r", empty, "--sensor", "s1", "--nats", c.url(), "--spool", spool}, io.Discard, &stderr); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	if st := natsStats(t, stderr.String()); st[4] != kept || st[1] != kept || st[7] != 0 {
		t.Errorf("second run replayed %d, acked %d, want %d: %s", st[4], st[1], kept, stderr.String())
	}
	conn, http := natsCollect(t, c.url(), dir, "f")
	// what was kept is the oldest records: a prefix of each log
	if uint64(len(conn)+len(http)) != kept || len(conn) > len(wantConn) || len(http) > len(wantHTTP) {
		t.Fatalf("collected %d+%d, kept %d", len(conn), len(http), kept)
	}
	if strings.Join(conn, "\n") != strings.Join(wantConn[:len(conn)], "\n") || strings.Join(http, "\n") != strings.Join(wantHTTP[:len(http)], "\n") {
		t.Errorf("collected records are not the oldest ones in order")
	}
}

// TestNATSLive: `fastsniff -i` in a test namespace publishes; at SIGINT
// everything is acknowledged before it exits.
func TestNATSLive(t *testing.T) {
	natsNeed(t)
	v := newLiveNS(t)
	c := startNATS(t, 1)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcap")
	writeHTTPCapture(t, pcap, 40, 3)
	connPath, httpPath := filepath.Join(dir, "f.conn"), filepath.Join(dir, "f.http")
	code, stderr := liveRunCLI(t, v, func() { v.replay(t, pcap) }, "--workers", "2", "--sensor", "live",
		"--conn-log", connPath, "--http-log", httpPath, "--nats", c.url(), "--spool", filepath.Join(dir, "spool"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantConn, wantHTTP := readLines(t, connPath), readLines(t, httpPath)
	if len(wantConn) != 40 || len(wantHTTP) != 120 {
		t.Fatalf("%d connections, %d transactions logged, want 40 and 120", len(wantConn), len(wantHTTP))
	}
	st := natsStats(t, stderr)
	if st[1] != 160 || st[7] != 0 {
		t.Errorf("acked %d of 160: %s", st[1], stderr)
	}
	conn, http := natsCollect(t, c.url(), dir, "live")
	sameRecords(t, "conn", conn, wantConn)
	sameRecords(t, "http", http, wantHTTP)
}

// TestNATSFlags: bad --nats flag values and combinations are refused with
// a message naming the flag; --sensor alone puts the field in the files.
func TestNATSFlags(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcap")
	writeHTTPCapture(t, pcap, 2, 2)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--spool", dir}, "--spool needs --nats"},
		{[]string{"--sensor", "a.b"}, "--sensor"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--sensor", "x y"}, "--sensor"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--nats-replicas", "0"}, "--nats-replicas"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--nats-subject", "a.*"}, "--nats-subject"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--spool-max", "x"}, "spool-max"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"-r", pcap, "-q"}, c.args...), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"collect"}, "give --nats"},
		{[]string{"collect", "--nats", "nats://127.0.0.1:1"}, "--conn-log"},
		{[]string{"collect", "--nats", "nats://127.0.0.1:1", "--conn-log", "-", "--http-log", "-"}, "both be stdout"},
		{[]string{"collect", "--nats", "nats://127.0.0.1:1", "--conn-log", "x", "extra"}, "unexpected"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), c.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	// --sensor without --nats: the field in both files, nothing else changed
	plainConn, plainHTTP := fileRun(t, dir, "plain", []string{pcap})
	sConn, sHTTP := fileRun(t, dir, "sensor", []string{pcap}, "--sensor", "edge-7")
	for _, p := range [][2]string{{plainConn, sConn}, {plainHTTP, sHTTP}} {
		want, got := readLines(t, p[0]), readLines(t, p[1])
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d lines, %s: %d", p[0], len(want), p[1], len(got))
		}
		for i := range got {
			if w := strings.TrimSuffix(want[i], "}") + `,"sensor":"edge-7"}`; got[i] != w {
				t.Errorf("line %d: %s, want %s", i, got[i], w)
			}
		}
	}
}

// TestNATSDefaultSensor: without --sensor the records published carry the
// host's name as sensor (subject, field), the files have no such field.
func TestNATSDefaultSensor(t *testing.T) {
	c := startNATS(t, 1)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcap")
	writeHTTPCapture(t, pcap, 5, 2)
	connPath, httpPath := fileRun(t, dir, "f", []string{pcap}, "--nats", c.url())
	wantConn, wantHTTP := readLines(t, connPath), readLines(t, httpPath)
	if len(wantConn) != 5 || len(wantHTTP) != 10 || strings.Contains(wantConn[0]+wantHTTP[0], `"sensor"`) {
		t.Fatalf("files: %d, %d lines: %s", len(wantConn), len(wantHTTP), wantConn)
	}
	conn, http := natsCollect(t, c.url(), dir, "d")
	host := hostSensor()
	conn, byConn := stripSensor(conn)
	http, byHTTP := stripSensor(http)
	if byConn[host] != 5 || byHTTP[host] != 10 {
		t.Errorf("sensors %v %v, want all %q", byConn, byHTTP, host)
	}
	sameRecords(t, "conn", conn, wantConn)
	sameRecords(t, "http", http, wantHTTP)
	info := streamInfo(c.js(t))
	if info == nil || info.Config.Subjects[0] != "fastsniff.>" || info.Config.Duplicates != 10*time.Minute || info.Config.Replicas != 1 {
		t.Errorf("stream config %+v", info)
	}
}
