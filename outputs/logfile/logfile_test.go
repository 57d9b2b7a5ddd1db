package logfile

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable Clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var t0 = time.Date(2026, 12, 2, 9, 40, 0, 0, time.UTC)

// step is a write of line at clock time at (an offset from t0), or a Tick
// when line is empty.
type step struct {
	at   time.Duration
	line string
}

func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(strings.NewReader(string(b)))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestRotation(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name     string
		interval time.Duration
		gzip     bool
		first    time.Duration // Options.First, if > 0 ... as an offset (-1: unset)
		steps    []step
		end      time.Duration // the clock at Close
		want     map[string]string
	}{
		{
			name: "no rotation", first: -1,
			steps: []step{{0, "a\n"}, {2 * h, "b\n"}},
			end:   3 * h,
			want:  map[string]string{"conn.json": "a\nb\n"},
		},
		{
			name: "hourly", interval: h, first: -1,
			steps: []step{{0, "a\n"}, {10 * time.Minute, "b\nc\n"}, {20 * time.Minute, "d\n"}, {70 * time.Minute, "e\n"}, {90 * time.Minute, "f\n"}},
			end:   95 * time.Minute,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_10-00-00.json": "a\nb\nc\n",
				"conn.2026-12-02-10-00-00_11-00-00.json": "d\ne\n",
				"conn.2026-12-02-11-00-00_11-15-00.json": "f\n",
			},
		},
		{
			// an hour with nothing written leaves no file
			name: "empty span skipped", interval: h, first: -1,
			steps: []step{{0, "a\n"}, {3 * h, "b\n"}},
			end:   3*h + time.Minute,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_10-00-00.json": "a\n",
				"conn.2026-12-02-12-00-00_12-41-00.json": "b\n",
			},
		},
		{
			// the first span starts at First (the first packet), and a
			// write long after goes to the span of its time
			name: "first", interval: h, first: 0,
			steps: []step{{5 * time.Minute, "a\n"}, {2 * h, "b\n"}},
			end:   2*h + time.Minute,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_10-00-00.json": "a\n",
				"conn.2026-12-02-11-00-00_11-41-00.json": "b\n",
			},
		},
		{
			name: "tick rotates without a write", interval: h, first: -1,
			steps: []step{{0, "a\n"}, {25 * time.Minute, ""}},
			end:   25 * time.Minute,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_10-00-00.json": "a\n",
			},
		},
		{
			name: "across midnight", interval: 6 * h, first: -1,
			steps: []step{{0, "a\n"}, {9 * h, "b\n"}, {15 * h, ""}},
			end:   15 * h,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_12-00-00.json":            "a\n",
				"conn.2026-12-02-18-00-00_2026-12-03-00-00-00.json": "b\n",
			},
		},
		{
			name: "gzip", interval: h, gzip: true, first: -1,
			steps: []step{{0, "a\n"}, {30 * time.Minute, "b\n"}},
			end:   31 * time.Minute,
			want: map[string]string{
				"conn.2026-12-02-09-40-00_10-00-00.json.gz": "a\n",
				"conn.2026-12-02-10-00-00_10-11-00.json.gz": "b\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{}
			opt := Options{Interval: tt.interval, Gzip: tt.gzip, Clock: c.now, Warn: func(err error) { t.Error(err) }}
			if tt.first >= 0 {
				opt.First = func() time.Time { return t0.Add(tt.first) }
			}
			s := NewSet(opt)
			f, err := s.Create(filepath.Join(dir, "conn.json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.steps {
				c.set(t0.Add(st.at))
				if st.line == "" {
					s.Tick()
					continue
				}
				if n, err := f.Write([]byte(st.line)); err != nil || n != len(st.line) {
					t.Fatalf("write: %d, %v", n, err)
				}
			}
			c.set(t0.Add(tt.end))
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			s.Wait()
			got := files(t, dir)
			if len(got) != len(tt.want) {
				t.Errorf("files %v, want %v", keys(got), keys(tt.want))
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s: %q, want %q (files %v)", name, got[name], want, keys(got))
				}
			}
		})
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// TestReopen: logrotate moves the file away and sends SIGHUP; the lines
// before are in the moved file, those after in a new one at the path.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "http.json")
	s := NewSet(Options{})
	f, err := s.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("one\n"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("two\n")) // still the moved file until the signal
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("three\n"))
	if err := s.Reopen(); err != nil { // not moved: appends, never truncates
		t.Fatal(err)
	}
	f.Write([]byte("four\n"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	want := map[string]string{"http.json.1": "one\ntwo\n", "http.json": "three\nfour\n"}
	if !slices.Equal(keys(got), keys(want)) || got["http.json"] != want["http.json"] || got["http.json.1"] != want["http.json.1"] {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestConcurrent: writes, ticks and reopens from several goroutines while
// the clock runs: every line is in exactly one file, whole.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	s := NewSet(Options{Interval: time.Minute, Clock: c.now, Gzip: true})
	f, err := s.Create(filepath.Join(dir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.set(t0.Add(time.Duration(i) * 7 * time.Second))
			s.Tick()
			if i%5 == 0 {
				s.Reopen()
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var want []string
	for i := range 3000 {
		line := strings.Repeat("x", i%50) + "\n"
		line = string(rune('a'+i%26)) + line
		want = append(want, line)
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // let the clock run
		}
	}
	close(stop)
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	got := files(t, dir)
	if len(got) < 3 {
		t.Errorf("only %d files", len(got))
	}
	var all []string
	for _, n := range keys(got) {
		if strings.HasSuffix(got[n], "\n") || got[n] == "" {
			all = append(all, strings.SplitAfter(got[n], "\n")...)
		} else {
			t.Errorf("%s does not end a line", n)
		}
	}
	all = slices.DeleteFunc(all, func(s string) bool { return s == "" })
	sort.Strings(all)
	sort.Strings(want)
	if !slices.Equal(all, want) {
		t.Errorf("%d lines in the files, want %d", len(all), len(want))
	}
}

func TestSpanName(t *testing.T) {
	a := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		path       string
		start, end time.Time
		want       string
	}{
		{"conn.json", a, a.Add(time.Hour), "conn.2026-12-02-10-00-00_11-00-00.json"},
		{"/var/log/fs/conn.log", a, a.Add(90 * time.Second), "/var/log/fs/conn.2026-12-02-10-00-00_10-01-30.log"},
		{"conn", a, a.Add(time.Hour), "conn.2026-12-02-10-00-00_11-00-00"},
		{"logs.d/ssl.v2.json", a, a.Add(24 * time.Hour), "logs.d/ssl.v2.2026-12-02-10-00-00_2026-12-03-10-00-00.json"},
		{".hidden", a, a.Add(time.Hour), ".hidden.2026-12-02-10-00-00_11-00-00"},
	}
	for _, tt := range tests {
		if got := SpanName(tt.path, tt.start, tt.end); got != tt.want {
			t.Errorf("SpanName(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestNoOverwrite: a restart within a span never overwrites its archive.
func TestNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: t0}
	for run := range 3 {
		s := NewSet(Options{Interval: time.Hour, Clock: c.now})
		f, err := s.Create(filepath.Join(dir, "c.json"))
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{byte('a' + run), '\n'})
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got := files(t, dir)
	want := []string{"c.2026-12-02-09-40-00_09-40-00-1.json", "c.2026-12-02-09-40-00_09-40-00-2.json", "c.2026-12-02-09-40-00_09-40-00.json"}
	if !slices.Equal(keys(got), want) {
		t.Errorf("files %v, want %v", keys(got), want)
	}
}

// TestEmptyRemoved: with rotation, a log that never got a line leaves no
// file.
func TestEmptyRemoved(t *testing.T) {
	dir := t.TempDir()
	s := NewSet(Options{Interval: time.Hour})
	f, err := s.Create(filepath.Join(dir, "c.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Tick()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files %v", keys(got))
	}
}
