package natsink

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/outputs/sink"
)

// server starts nats-server with JetStream on a free loopback port and
// returns its URL; it is killed at the end of tb.
func server(tb testing.TB, extra ...string) string {
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
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
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
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

func lines(from, n int) []byte {
	var b []byte
	for i := from; i < from+n; i++ {
		b = fmt.Appendf(b, `{"ts":%d.5,"uid":"C%011d","orig_bytes":%d}`+"\n", i, i, i*7)
	}
	return b
}

func TestPublishAckReplay(t *testing.T) {
	url := server(t)
	spool := filepath.Join(t.TempDir(), "spool")
	s, err := Open(Config{URLs: []string{url}, Sensor: "t1", SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(sink.Conn, lines(0, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(sink.HTTP, []byte(`{"uid":"C1","trans_depth":1}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Published != 1001 || st.Acked != 1001 || st.Spooled != 1001 || st.Unacked != 0 || st.SpoolBytes != 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
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
// (spool append, read back, publish, ack, commit), against a local
// nats-server (R1). The server's CPU is not counted.
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
