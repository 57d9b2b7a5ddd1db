package connlog

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// TestRotateByWorkerClocks: with Options.Capture a line goes to the file of
// its close time, and that file is closed and named while the log is
// still open, as soon as every worker's clock has passed its end.
func TestRotateByWorkerClocks(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixNano()
	dir := t.TempDir()
	clock := func() time.Time { return time.Unix(0, t0+10e9) }
	set := logfile.NewSet(logfile.Options{Interval: time.Second, Clock: clock})
	f, err := set.Create(filepath.Join(dir, "conn.json"))
	if err != nil {
		t.Fatal(err)
	}
	rcfg := reassembly.Config{IdleTimeout: 500 * time.Millisecond}
	log := NewCloser(f, Options{Capture: &logfile.Capture{Interval: time.Second, Idle: rcfg.IdleTimeout}})
	w0 := worker.New(0, rcfg, log.Handler())
	w1 := worker.New(1, rcfg, log.Handler())

	s := reassembly.Segment{TS: t0 + 100e6, SrcPort: 40000, DstPort: 80, Flags: reassembly.SYN, Seq: 7, WScale: -1}
	s.SetAddrs(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	w0.Feed(&s)
	w0.Advance(t0 + 1100e6) // times out (at 10:00:00.6), then marks 10:00:01
	first := "conn.2026-12-02-10-00-00_10-00-01.json"
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, first)); err == nil {
		t.Fatal("the span closed before worker 1 passed it")
	}
	w1.Advance(t0 + 1100e6)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, first))
		if err == nil {
			if !strings.Contains(string(b), `"close_reason":"timeout"`) || strings.Count(string(b), "\n") != 1 {
				t.Fatalf("%s: %q", first, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not there while the log is open", first)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w0.Flush(reassembly.ReasonFlush)
	w1.Flush(reassembly.ReasonFlush)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != first {
		t.Errorf("files after Close: %v", ents)
	}
}
