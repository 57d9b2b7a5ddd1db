package logfile

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/reassembly"
)

// TestStampedWrites: stamped lines go to the file of their span whatever
// the order they come in and whatever the clock says, a line stamped at a
// boundary opens the span it starts, and the files are named with their
// spans (the first from First, the last up to the clock) at Close.
func TestStampedWrites(t *testing.T) {
	type write struct {
		stamp time.Duration // offset from t0 (t0 is 09:40:00)
		line  string
	}
	tests := []struct {
		name   string
		gzip   bool
		first  time.Duration // Options.First: the first packet
		last   time.Duration // the clock at Close
		writes []write
		want   map[string]string
	}{
		{
			name: "out of order, boundary", first: 30 * time.Second, last: 75 * time.Minute,
			writes: []write{
				{1 * time.Minute, "a\n"},
				{20*time.Minute + 1, "c\n"},              // 10:00:00.000000001
				{19*time.Minute + 59*time.Second, "b\n"}, // a late worker: the earlier span
				{20 * time.Minute, "d\n"},                // exactly at 10:00: the span it starts
				{75 * time.Minute, "f\n"},
				{79*time.Minute + 59*time.Second, "g\n"}, // beyond the clock (not from a capture): its span
				{2 * time.Minute, "e\n"},
			},
			want: map[string]string{
				"conn.2026-12-02-09-40-30_10-00-00.json": "a\nb\ne\n",
				"conn.2026-12-02-10-00-00_10-20-00.json": "c\nd\n",
				"conn.2026-12-02-10-40-00_10-55-00.json": "f\ng\n", // 10:20-10:40 had none
			},
		},
		{
			name: "many spans, gzip", gzip: true, last: 3*time.Hour + 5*time.Minute,
			writes: []write{
				{0, "0\n"}, {3 * time.Hour, "3\n"}, {time.Hour, "1\n"}, {2 * time.Hour, "2\n"},
				{20*time.Minute - 1, "0b\n"}, {79 * time.Minute, "1b\n"}, {time.Hour, "1c\n"},
			},
			want: map[string]string{
				"conn.2026-12-02-09-00-00_10-00-00.json.gz": "0\n0b\n",
				"conn.2026-12-02-10-00-00_11-00-00.json.gz": "1\n1b\n1c\n",
				"conn.2026-12-02-11-00-00_12-00-00.json.gz": "2\n",
				"conn.2026-12-02-12-00-00_12-45-00.json.gz": "3\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{}
			opt := Options{Interval: 20 * time.Minute, Gzip: tt.gzip, Clock: c.now, Warn: func(err error) { t.Error(err) }}
			if tt.name == "many spans, gzip" {
				opt.Interval = time.Hour
			}
			if tt.first != 0 {
				opt.First = func() time.Time { return t0.Add(tt.first) }
			}
			s := NewSet(opt)
			f, err := s.Create(filepath.Join(dir, "conn.json"))
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.writes {
				// the clock runs ahead of the stamps (the reader)
				c.set(t0.Add(tt.last))
				if i == 0 {
					c.set(t0)
				}
				f.SetStamp(t0.Add(w.stamp).UnixNano())
				if n, err := f.Write([]byte(w.line)); err != nil || n != len(w.line) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			// nothing is visible under a span's name before Close
			for name := range files(t, dir) {
				if !strings.HasPrefix(name, ".conn.") && name != "conn.json" {
					t.Errorf("%s before Close", name)
				}
			}
			c.set(t0.Add(tt.last))
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			s.Wait()
			got := files(t, dir)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("files\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// TestStampedManyParts: more spans written in turn than descriptors kept
// open, each appended to again after its descriptor was closed.
func TestStampedManyParts(t *testing.T) {
	dir := t.TempDir()
	c := &clock{}
	c.set(t0.Add(time.Hour))
	s := NewSet(Options{Interval: time.Minute, Clock: c.now})
	f, err := s.Create(filepath.Join(dir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	const spans = 3 * maxOpenParts
	for round := 0; round < 3; round++ {
		for k := 0; k < spans; k++ {
			f.SetStamp(t0.Add(time.Duration(k)*time.Minute + time.Duration(round)*time.Second).UnixNano())
			if _, err := fmt.Fprintf(f, "%d.%d\n", k, round); err != nil {
				t.Fatal(err)
			}
			if f.nOpen > maxOpenParts {
				t.Fatalf("%d descriptors open", f.nOpen)
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	if len(got) != spans {
		t.Fatalf("%d files, want %d: %v", len(got), spans, got)
	}
	for k := 0; k < spans; k++ {
		a := t0.Add(time.Duration(k) * time.Minute)
		name := SpanName("x.json", a, a.Add(time.Minute))
		if want := fmt.Sprintf("%d.0\n%d.1\n%d.2\n", k, k, k); got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
}

// TestStampZeroIsClock: without a stamp (0) a write follows the clock, as
// live.
func TestStampZeroIsClock(t *testing.T) {
	dir := t.TempDir()
	c := &clock{}
	c.set(t0)
	s := NewSet(Options{Interval: time.Hour, Clock: c.now})
	f, err := s.Create(filepath.Join(dir, "c.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.SetStamp(0)
	f.Write([]byte("x\n"))
	if b, err := os.ReadFile(filepath.Join(dir, "c.json")); err != nil || string(b) != "x\n" {
		t.Fatalf("current file %q, %v", b, err)
	}
	f.Close()
}

func TestCaptureStamps(t *testing.T) {
	const last = int64(1_800_000_000e9) // a connection's last packet
	c := &Capture{Interval: time.Hour, Idle: 5 * time.Minute}
	conn := connAt(t, last)
	tests := []struct {
		r       reassembly.Reason
		now, ts int64
	}{
		{reassembly.ReasonFIN, last, last},
		{reassembly.ReasonFIN, last + 7e9, last},                 // the clock went on: the FIN's time
		{reassembly.ReasonTimeout, last + 6*60e9, last + 5*60e9}, // expired at last+idle, whenever the clock saw it
		{reassembly.ReasonRST, last + 3e9, last + 1e9},           // the default grace, 1s
		{reassembly.ReasonRST, last, last},                       // at most the clock
		{reassembly.ReasonFlush, last + 100e9, last + 100e9},     // the end of input: the clock
		{reassembly.ReasonEvicted, 0, last},                      // no clock: the connection's own time
	}
	for _, tt := range tests {
		if got := c.Closed(conn, tt.r, tt.now); got != tt.ts {
			t.Errorf("Closed(%v, now %d) = %d, want %d", tt.r, tt.now-last, got-last, tt.ts-last)
		}
	}
	if got := c.Delivered(conn, last-5); got != last-5 {
		t.Errorf("Delivered at a packet: %d", got-last)
	}
	if got := c.Delivered(conn, last+9*60e9); got != last+5*60e9 {
		t.Errorf("Delivered at a timeout's clock: %d, want the timeout", got-last)
	}
	for _, x := range []struct{ ts, span int64 }{
		{3600e9, 3600e9}, {3600e9 - 1, 0}, {7199e9, 3600e9}, {-1, -3600e9},
	} {
		if got := c.Span(x.ts); got != x.span {
			t.Errorf("Span(%d) = %d, want %d", x.ts, got, x.span)
		}
	}
}

// connAt returns a connection whose last packet was at last (Unix ns).
func connAt(t *testing.T, last int64) *reassembly.Conn {
	var got *reassembly.Conn
	tb := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{OnClose: func(c *reassembly.Conn, _ reassembly.Reason) { got = c }})
	s := reassembly.Segment{TS: last, SrcPort: 40000, DstPort: 80, Flags: reassembly.SYN, Seq: 7, WScale: -1}
	s.SetAddrs(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	tb.Feed(&s)
	tb.Flush(reassembly.ReasonFlush)
	if got == nil || got.LastNanos() != last {
		t.Fatalf("no connection closed at %d", last)
	}
	return got
}

func TestBatch(t *testing.T) {
	b := Batch{Capture: &Capture{Interval: time.Second}}
	steps := []struct {
		ts    int64
		n     int
		flush bool
		stamp int64
	}{
		{1e9 + 5, 0, false, 0},
		{1e9 + 7, 10, false, 0},
		{2e9, 20, true, 1e9 + 5}, // a new span: the buffer goes with its first line's stamp
		{1e9, 10, true, 2e9},     // back to the earlier one
		{3e9, 0, false, 0},       // an empty buffer just takes the stamp
	}
	for i, s := range steps {
		flush, stamp := b.Line(s.ts, s.n)
		if flush != s.flush || (flush && stamp != s.stamp) {
			t.Errorf("step %d: Line = %v, %d; want %v, %d", i, flush, stamp, s.flush, s.stamp)
		}
	}
	if b.Stamp() != 3e9 {
		t.Errorf("Stamp = %d", b.Stamp())
	}
	var off Batch
	if flush, _ := off.Line(5, 10); flush || off.Stamp() != 0 {
		t.Error("a Batch without Capture stamps")
	}
}

// TestReached: a span's file is closed and named once every worker has
// reached its end, before Close; the others wait.
func TestReached(t *testing.T) {
	dir := t.TempDir()
	c := &clock{}
	c.set(t0.Add(3 * time.Hour))
	s := NewSet(Options{Interval: time.Hour, Clock: c.now, Gzip: true})
	f, err := s.Create(filepath.Join(dir, "conn.json"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(at time.Duration, line string) {
		f.SetStamp(t0.Add(at).UnixNano())
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	named := func() []string {
		s.Wait()
		var out []string
		for name := range files(t, dir) {
			if !strings.HasPrefix(name, ".") && name != "conn.json" {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	h := func(h int) int64 { return t0.Truncate(time.Hour).Add(time.Duration(h) * time.Hour).UnixNano() } // 09:00 + h
	write(0, "a\n")                                                                                       // 09:40: span 09-10
	write(time.Hour, "b\n")                                                                               // 10:40: span 10-11
	f.Reached(0, 2, h(1))                                                                                 // worker 0 at 10:00
	if got := named(); len(got) != 0 {
		t.Fatalf("closed with one worker of two past 10:00: %v", got)
	}
	f.Reached(1, 2, h(1)-1) // worker 1 just before: still nothing
	if got := named(); len(got) != 0 {
		t.Fatalf("closed before every worker reached 10:00: %v", got)
	}
	f.Reached(1, 2, h(2)+5) // worker 1 at 11:00: 09-10 is done (worker 0 is at 10:00)
	if got := named(); !slices.Equal(got, []string{"conn.2026-12-02-09-00-00_10-00-00.json.gz"}) {
		t.Fatalf("after both reached 10:00: %v", got)
	}
	write(time.Hour+time.Minute, "c\n")
	f.Reached(0, 2, h(3))
	if got := named(); len(got) != 2 {
		t.Fatalf("after both reached 11:00: %v", got)
	}
	write(2*time.Hour, "d\n") // 11:40
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	got := files(t, dir)
	want := map[string]string{
		"conn.2026-12-02-09-00-00_10-00-00.json.gz": "a\n",
		"conn.2026-12-02-10-00-00_11-00-00.json.gz": "b\nc\n",
		"conn.2026-12-02-11-00-00_12-00-00.json.gz": "d\n",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

func TestBatchMarks(t *testing.T) {
	b := Batch{Capture: &Capture{Interval: time.Second}}
	if !b.Advanced(1e9+5) || b.Advanced(1e9+9) || b.Advanced(5) {
		t.Fatal("a mark is due when the clock enters a later span only")
	}
	// a line stamped before the marked span (timestamps running
	// backwards) goes to its start
	b.Line(0, 0)
	if b.Stamp() != 1e9 {
		t.Errorf("a late line stamped %d, want the marked span's start", b.Stamp())
	}
	if !b.Advanced(3e9) {
		t.Error("no mark entering a later span")
	}
}
