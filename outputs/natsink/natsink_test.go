package natsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fastsniff/fastsniff/outputs/sink"
)

// server starts nats-server with JetStream on a free loopback port and
// returns its URL; it is killed at the end of tb.
func server(tb testing.TB, extra ...string) string {
	url, _ := serverProc(tb, extra...)
	return url
}

// serverProc is server, also returning the server's process (to stop it).
// The server dies with the test binary too (a test timeout's panic runs no
// Cleanup): Pdeathsig.
// stopProc stops proc with SIGSTOP and waits until every one of its
// threads is stopped: kill returns before a thread running on another CPU
// has stopped, and on a loaded machine the server acked ten more records
// in that window (a CI run of session 6).
func stopProc(tb testing.TB, proc *os.Process) {
	tb.Helper()
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatal(err)
	}
	for i := 0; ; i++ {
		if allStopped(proc.Pid) {
			return
		}
		if i > 500 {
			tb.Fatalf("nats-server (pid %d) not stopped after 5 s", proc.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allStopped reports whether every thread of process pid is in the
// stopped state (T in /proc/PID/task/TID/stat).
func allStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// the state follows the command name in parentheses, which may
		// itself hold spaces or parentheses
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

func serverProc(tb testing.TB, extra ...string) (string, *os.Process) {
	tb.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		tb.Skip("needs nats-server (apt-get install nats-server; .ci/run installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := tb.TempDir()
	cmd := exec.Command("nats-server", append([]string{"-js", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-sd", dir}, extra...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // in case it was stopped
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if i > 200 {
			tb.Fatal("nats-server not listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port), cmd.Process
}

func lines(from, n int) []byte {
	var b []byte
	for i := from; i < from+n; i++ {
		b = fmt.Appendf(b, `{"ts":%d.5,"uid":"C%011d","orig_bytes":%d}`+"\n", i, i, i*7)
	}
	return b
}

// waitLive waits until the publisher is connected and keeping up, so that
// records go to memory.
func waitLive(t testing.TB, s *Sink) {
	t.Helper()
	for i := 0; ; i++ {
		s.mu.Lock()
		live := s.live
		s.mu.Unlock()
		if live {
			return
		}
		if i > 500 {
			t.Fatal("publisher not live after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spoolFileBytes is the size of the spool's segment files.
func spoolFileBytes(t *testing.T, dir string) int64 {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range segs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func TestPublishAckReplay(t *testing.T) {
	url := server(t)
	spool := filepath.Join(t.TempDir(), "spool")
	s, err := Open(Config{URLs: []string{url}, Sensor: "t1", SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	waitLive(t, s)
	if err := s.Append(sink.Conn, lines(0, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(sink.HTTP, []byte(`{"uid":"C1","trans_depth":1}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// a server keeping up: every record went from memory, none to disk
	st := s.Stats()
	if st.Published != 1001 || st.Acked != 1001 || st.Spooled != 0 || st.Unacked != 0 || st.SpoolBytes != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n := spoolFileBytes(t, spool); n != 0 {
		t.Errorf("%d bytes written to the spool", n)
	}
	// a record without uid is an error, not a message
	s, err = Open(Config{URLs: []string{url}, Sensor: "t1", SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(sink.Conn, []byte("{\"ts\":1}\n")); err == nil {
		t.Error("no error for a record without uid")
	}
	// the same records again: acknowledged (as duplicates), counted once each
	if err := s.Append(sink.Conn, lines(0, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Acked != 10 || st.Published != 10 {
		t.Fatalf("second run %+v", st)
	}
	if got := streamUIDs(t, url); len(got) != 1001 {
		t.Errorf("stream holds %d records, want 1001", len(got))
	}
}

// streamUIDs returns the uid of every message in the stream, in stream
// order.
func streamUIDs(t *testing.T, url string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct{ UID string }
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			t.Fatal(err)
		}
		uids = append(uids, rec.UID)
	}
	return uids
}

// TestStoppedServer: the server stops answering (SIGSTOP) while records
// flow. The ring fills (MaxInFlight published, MemRecords held), then the
// records go to the spool, those in memory first; a full spool drops the
// newest, counted exactly. Close leaves every unacknowledged record in the
// spool; the next Sink sends them: the stream holds the kept records once
// each, in order, and nothing else.
func TestStoppedServer(t *testing.T) {
	for _, c := range []struct {
		name     string
		spoolMax int64
		n        int // records appended while the server is stopped
		full     bool
	}{
		{"spool takes all", 1 << 20, 300, false},
		{"spool full", 16 << 10, 490, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, proc := serverProc(t)
			spool := filepath.Join(t.TempDir(), "spool")
			cfg := Config{URLs: []string{url}, Sensor: "t3", SpoolDir: spool, SpoolMax: c.spoolMax,
				MaxInFlight: 16, MemRecords: 64, AckWait: time.Minute}
			s, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			waitLive(t, s)
			if err := s.Append(sink.Conn, lines(0, 10)); err != nil {
				t.Fatal(err)
			}
			for i := 0; s.Stats().Acked != 10; i++ {
				if i > 500 {
					t.Fatalf("not acked: %+v", s.Stats())
				}
				time.Sleep(20 * time.Millisecond)
			}
			stopProc(t, proc)
			for i := 10; i < 10+c.n; i += 10 {
				if err := s.Append(sink.Conn, lines(i, 10)); err != nil {
					t.Fatal(err)
				}
			}
			err = s.Close(200 * time.Millisecond)
			st := s.Stats()
			var ue *UnackedError
			if !errors.As(err, &ue) || ue.Lost || ue.N != st.Unacked {
				t.Fatalf("Close = %v, stats %+v", err, st)
			}
			kept := int(ue.N)
			// 16 published before the window was full; every record kept
			// went to the spool: the 64 of the ring spilled, then the rest
			if st.Published != 26 || st.Acked != 10 || int(st.Dropped) != c.n-kept || int(st.Spooled) != kept ||
				(c.full != (st.Dropped > 0)) || st.SpoolBytes > uint64(c.spoolMax) {
				t.Fatalf("%d appended, %d kept: stats %+v", c.n, kept, st)
			}
			if err := proc.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			cfg.MaxInFlight, cfg.MemRecords = 0, 0
			s, err = Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); int(st.Replayed) != kept || int(st.Acked) != kept || st.Unacked != 0 {
				t.Fatalf("second run %+v, want %d replayed", st, kept)
			}
			got := streamUIDs(t, url)
			if len(got) != 10+kept {
				t.Fatalf("stream holds %d records, want %d", len(got), 10+kept)
			}
			for i, uid := range got {
				if want := fmt.Sprintf("C%011d", i); uid != want {
					t.Fatalf("stream record %d is %s, want %s", i, uid, want)
				}
			}
		})
	}
}

// TestStopContinue: the server stops and continues several times while
// records flow, with a short AckWait (go-back-N re-sends): records move
// between memory and the spool and back; in the end the stream holds every
// record exactly once.
func TestStopContinue(t *testing.T) {
	url, proc := serverProc(t)
	s, err := Open(Config{URLs: []string{url}, Sensor: "t5", SpoolDir: filepath.Join(t.TempDir(), "spool"),
		MaxInFlight: 32, MemRecords: 128, AckWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitLive(t, s)
	const n = 3000
	for i := 0; i < n; i += 50 {
		if err := s.Append(sink.Conn, lines(i, 50)); err != nil {
			t.Fatal(err)
		}
		switch i % 600 {
		case 200:
			_ = proc.Signal(syscall.SIGSTOP)
		case 350:
			time.Sleep(400 * time.Millisecond) // past AckWait: go back
			_ = proc.Signal(syscall.SIGCONT)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := s.Close(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Acked != n || st.Published != n || st.Unacked != 0 || st.Spooled == 0 || st.Retried == 0 {
		t.Fatalf("stats %+v: want %d acked, some spooled and retried", st, n)
	}
	t.Logf("stats %+v", st)
	got := streamUIDs(t, url)
	seen := map[string]bool{}
	for _, uid := range got {
		if seen[uid] {
			t.Fatalf("%s twice in the stream", uid)
		}
		seen[uid] = true
	}
	for i := 0; i < n; i++ {
		if uid := fmt.Sprintf("C%011d", i); !seen[uid] {
			t.Fatalf("%s missing from the stream (%d records)", uid, len(got))
		}
	}
}

// TestServerDiesWithTest: a test binary that dies without its Cleanups (a
// go test -timeout panic) takes its nats-server with it.
func TestServerDiesWithTest(t *testing.T) {
	if os.Getenv("NATSINK_ORPHAN") != "" {
		_, proc := serverProc(t)
		fmt.Printf("pid %d\n", proc.Pid)
		os.Exit(3) // no Cleanup runs
	}
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Skip("needs nats-server (apt-get install nats-server; .ci/run installs it)")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestServerDiesWithTest$")
	cmd.Env = append(os.Environ(), "NATSINK_ORPHAN=1", "TMPDIR="+t.TempDir())
	out, _ := cmd.Output()
	var pid int
	if _, err := fmt.Sscanf(string(out), "pid %d", &pid); err != nil || pid <= 0 {
		t.Fatalf("child said %q", out)
	}
	for i := 0; ; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		// gone, or a zombie waiting for a reaper that is not us
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if i > 250 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("nats-server %d still running after its test binary died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With no server, Close leaves the records in the spool and says so; the
// next Sink on the spool sends them first, as replayed.
func TestUnreachableThenReplay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + ln.Addr().String()
	ln.Close()
	spool := filepath.Join(t.TempDir(), "spool")
	s, err := Open(Config{URLs: []string{dead}, Sensor: "t2", SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(sink.Conn, lines(0, 300)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = s.Close(300 * time.Millisecond)
	var ue *UnackedError
	if !errors.As(err, &ue) || ue.N != 300 || ue.Lost {
		t.Fatalf("Close = %v, want 300 unacked", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("Close took %v with a drain timeout of 300ms", d)
	}
	url := server(t)
	s, err = Open(Config{URLs: []string{url}, Sensor: "t2", SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Replayed != 300 || st.Acked != 300 || st.Spooled != 0 {
		t.Fatalf("replay %+v", st)
	}
	// without a spool directory, what is left is lost and said so
	s, err = Open(Config{URLs: []string{dead}, Sensor: "t2"})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.SpoolDir()
	s.Append(sink.Conn, lines(0, 5))
	if err := s.Close(0); !errors.As(err, &ue) || !ue.Lost || ue.N != 5 {
		t.Fatalf("Close = %v, want 5 lost", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary spool %s left behind", dir)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URLs: []string{"nats://127.0.0.1:1"}, Sensor: "a.b"},
		{Sensor: "ok"},
		{URLs: []string{"nats://127.0.0.1:1"}, Sensor: "ok", TLSCA: "/nonexistent"},
		{URLs: []string{"nats://127.0.0.1:1"}, Sensor: "ok", Creds: "/nonexistent"},
	} {
		if s, err := Open(cfg); err == nil {
			s.Close(0)
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPublish: CPU per record of the whole path after the log writer
// (into the ring, publish, ack, pop), against a local nats-server (R1)
// that keeps up. The server's CPU is not counted.
func BenchmarkPublish(b *testing.B) {
	url := server(b)
	batch := lines(0, 200) // 200 records of a 64 KiB-ish writer buffer
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(Config{URLs: []string{url}, Sensor: fmt.Sprint("b", i), SpoolDir: filepath.Join(b.TempDir(), "spool")})
		if err != nil {
			b.Fatal(err)
		}
		waitLive(b, s) // records go to memory, as in a run against a live cluster
		c0 := cpuTime()
		b.StartTimer()
		for k := 0; k < 50; k++ {
			if err := s.Append(sink.Conn, batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(30 * time.Second); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*50*200), "cpu-ns/record")
}
