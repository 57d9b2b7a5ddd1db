package pcapwriter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type pkt struct {
	ts   int64
	data []byte
	wire int
}

// base is 2026-12-02 10:00:00 UTC.
var base = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixNano()

// pkts returns n packets of size bytes (the first byte numbers them),
// every gap apart from base.
func pkts(n, size int, gap time.Duration) []pkt {
	var ps []pkt
	for i := range n {
		d := bytes.Repeat([]byte{byte(i * 7)}, size)
		d[0] = byte(i)
		ps = append(ps, pkt{ts: base + int64(i)*int64(gap) + 123, data: d, wire: size + i%3})
	}
	return ps
}

// readPcap reads a file written by Writer with pcapgo: its link type and
// packets.
func readPcap(t *testing.T, path string) (layers.LinkType, []pkt) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.Resolution().ToDuration() != time.Nanosecond {
		t.Errorf("%s: resolution %v, want ns", path, r.Resolution())
	}
	var out []pkt
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, pkt{ts: ci.Timestamp.UnixNano(), data: data, wire: ci.Length})
	}
	return r.LinkType(), out
}

func writeAll(t *testing.T, cfg Config, ps []pkt) *Writer {
	t.Helper()
	cfg.Wait = true
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := w.Sink()
	for _, p := range ps {
		s.Write(decode.LinkEthernet, p.ts, p.data, p.wire)
	}
	s.Flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRolling(t *testing.T) {
	const size = 1000 // a record is 1016 bytes, the header 24
	tests := []struct {
		name     string
		path     string
		fileSize int64
		interval time.Duration
		count    int
		n        int
		gap      time.Duration
		// want: file name -> packet indexes it holds
		want map[string][]int
	}{
		{
			name: "one file", path: "out.pcap", n: 5, gap: time.Second,
			want: map[string][]int{"out.pcap": {0, 1, 2, 3, 4}},
		},
		{
			// a new file before a packet once the current one is larger
			// than 2500 bytes: 24+3*1016 = 3072 > 2500 after 3 packets
			name: "-C", path: "out.pcap", fileSize: 2500, n: 7, gap: time.Second,
			want: map[string][]int{"out.pcap": {0, 1, 2}, "out.pcap1": {3, 4, 5}, "out.pcap2": {6}},
		},
		{
			name: "-C -W ring", path: "out.pcap", fileSize: 2500, count: 2, n: 10, gap: time.Second,
			// files 0,1,0,1: the last two hold packets 6..8 and 9
			want: map[string][]int{"out.pcap0": {6, 7, 8}, "out.pcap1": {9}},
		},
		{
			name: "-C -W 11 pads", path: "out.pcap", fileSize: 100, count: 11, n: 3, gap: time.Second,
			want: map[string][]int{"out.pcap00": {0}, "out.pcap01": {1}, "out.pcap02": {2}},
		},
		{
			// a new file when a packet is 60 s or more after the file was
			// opened; the name is the opening packet's time
			name: "-G", path: "out-%Y%m%d-%H%M%S.pcap", interval: time.Minute, n: 7, gap: 25 * time.Second,
			want: map[string][]int{
				"out-20261202-100000.pcap": {0, 1, 2},
				"out-20261202-100115.pcap": {3, 4, 5},
				"out-20261202-100230.pcap": {6},
			},
		},
		{
			name: "-G -W keeps the last files", path: "g-%H%M%S.pcap", interval: time.Minute, count: 2, n: 9, gap: 25 * time.Second,
			want: map[string][]int{
				"g-100230.pcap": {6, 7, 8},
				"g-100115.pcap": {3, 4, 5},
			},
		},
		{
			// -C files within a -G interval take the interval's name
			// with a number
			name: "-G -C", path: "gc-%M%S.pcap", interval: time.Minute, fileSize: 1500, n: 6, gap: 20 * time.Second,
			want: map[string][]int{
				"gc-0000.pcap": {0, 1}, "gc-0000.pcap1": {2},
				"gc-0100.pcap": {3, 4}, "gc-0100.pcap1": {5},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("TZ", "UTC")
			ps := pkts(tt.n, size, tt.gap)
			w := writeAll(t, Config{Path: filepath.Join(dir, tt.path), FileSize: tt.fileSize, Interval: tt.interval, Count: tt.count}, ps)
			ents, _ := os.ReadDir(dir)
			var names, wantNames []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			for n := range tt.want {
				wantNames = append(wantNames, n)
			}
			sort.Strings(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Fatalf("files %v, want %v", names, wantNames)
			}
			for name, idx := range tt.want {
				lt, got := readPcap(t, filepath.Join(dir, name))
				if lt != layers.LinkTypeEthernet {
					t.Errorf("%s: link type %v", name, lt)
				}
				if len(got) != len(idx) {
					t.Errorf("%s: %d packets, want %d", name, len(got), len(idx))
					continue
				}
				for j, i := range idx {
					if got[j].ts != ps[i].ts || got[j].wire != ps[i].wire || !bytes.Equal(got[j].data, ps[i].data) {
						t.Errorf("%s: packet %d is not packet %d: ts %d/%d wire %d/%d", name, j, i, got[j].ts, ps[i].ts, got[j].wire, ps[i].wire)
					}
				}
			}
			st := w.Stats()
			if st.Written != uint64(tt.n) || st.Dropped != 0 {
				t.Errorf("stats %+v, want %d written", st, tt.n)
			}
		})
	}
}

func TestTaggedAndMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.pcap")
	w, err := New(Config{Path: path, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Sink()
	frame := []byte("DDDDDDSSSSSS\x08\x00payload")
	s.WriteTagged(base, frame, 100, 0x8100, 0x2005)
	s.Write(decode.LinkRaw, base+1, []byte("raw"), 3) // not the file's link type
	s.Write(decode.LinkEthernet, base+2, frame, len(frame))
	s.Flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, got := readPcap(t, path)
	want := []pkt{
		{base, []byte("DDDDDDSSSSSS\x81\x00\x20\x05\x08\x00payload"), 104},
		{base + 2, frame, len(frame)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ts != want[i].ts || got[i].wire != want[i].wire || !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("packet %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if st := w.Stats(); st.Written != 2 || st.Mismatch != 1 || st.Dropped != 0 || st.Files != 1 {
		t.Errorf("stats %+v", st)
	}
}

// gate is a Stdout that blocks every write until released.
type gate struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.release
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// TestNeverWaits: with the writer stuck, a Sink neither blocks nor grows:
// packets past the buffers are dropped and counted, the rest written.
func TestNeverWaits(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	w, err := New(Config{Path: "-", Stdout: g, Buffers: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Sink()
	const n = 5000 // 5000 * 1020 bytes = about 5 buffers
	data := make([]byte, 1000)
	done := make(chan struct{})
	go func() {
		for i := range n {
			s.Write(decode.LinkEthernet, base+int64(i), data, len(data))
		}
		s.Flush()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Sink.Write waited for a stuck writer")
	}
	close(g.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Dropped == 0 || st.Written+st.Dropped != n {
		t.Fatalf("stats %+v: want drops, written+dropped = %d", st, n)
	}
	// what was written is a valid pcap holding exactly Written packets
	r, err := pcapgo.NewReader(bytes.NewReader(g.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		got++
	}
	if got != st.Written {
		t.Errorf("file holds %d packets, Written %d", got, st.Written)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.pcap")
	w, err := New(Config{Path: path, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Sink()
	ps := pkts(4, 100, time.Second)
	for _, p := range ps[:2] {
		s.Write(decode.LinkEthernet, p.ts, p.data, p.wire)
	}
	s.Flush()
	// wait until the writer wrote them, then move the file away as
	// logrotate does
	for deadline := time.Now().Add(5 * time.Second); w.Stats().Written < 2; {
		if time.Now().After(deadline) {
			t.Fatal("not written")
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	w.Reopen()
	for deadline := time.Now().Add(5 * time.Second); w.Stats().Files < 2; {
		if time.Now().After(deadline) {
			t.Fatal("not reopened")
		}
		time.Sleep(time.Millisecond)
	}
	for _, p := range ps[2:] {
		s.Write(decode.LinkEthernet, p.ts, p.data, p.wire)
	}
	s.Flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, a := readPcap(t, path+".1")
	_, b := readPcap(t, path)
	if len(a) != 2 || len(b) != 2 || a[0].ts != ps[0].ts || b[0].ts != ps[2].ts {
		t.Errorf("before reopen %d packets, after %d; want 2 and 2 in order", len(a), len(b))
	}
}

func TestEmptyFileHasHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.pcap")
	w, err := New(Config{Path: path, Link: decode.LinkRaw})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lt, got := readPcap(t, path)
	if lt != layers.LinkTypeRaw || len(got) != 0 {
		t.Errorf("link %v, %d packets", lt, len(got))
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Path: "-", FileSize: 10}, "standard output"},
		{Config{Path: "-", Interval: time.Second}, "standard output"},
		{Config{Path: filepath.Join(dir, "x"), Count: 3}, "-W needs -C or -G"},
		{Config{Path: filepath.Join(dir, "nodir", "x")}, "no such file"},
		{Config{Path: filepath.Join(dir, "nodir", "%H"), Interval: time.Second}, "no such file"},
		{Config{}, "no path"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct{ pat, want string }{
		{"%Y-%m-%d_%H:%M:%S", "2026-03-04_05:06:07"},
		{"%F %T", "2026-03-04 05:06:07"},
		{"%y%j %e|%b %a", "26063  4|Mar Wed"},
		{"%s", fmt.Sprint(tm.Unix())},
		{"100%% %q x%", "100% %q x%"},
		{"plain.pcap", "plain.pcap"},
	}
	for _, tt := range tests {
		if got := Strftime(tt.pat, tm); got != tt.want {
			t.Errorf("Strftime(%q) = %q, want %q", tt.pat, got, tt.want)
		}
	}
}

func BenchmarkSinkWrite(b *testing.B) {
	// Wait: every packet is written (none dropped), so this is the
	// throughput of the capture goroutine's copy with the writer
	// goroutine keeping up on another core
	w, err := New(Config{Path: "-", Stdout: io.Discard, Wait: true})
	if err != nil {
		b.Fatal(err)
	}
	s := w.Sink()
	data := make([]byte, 1500)
	binary.BigEndian.PutUint16(data[12:], 0x0800)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Write(decode.LinkEthernet, int64(i), data, len(data))
	}
	s.Flush()
	_ = w.Close()
	if st := w.Stats(); st.Dropped != 0 {
		b.Fatalf("%d dropped", st.Dropped)
	}
}

// BenchmarkPcapgoWritePacket is the peer of BenchmarkSinkWrite: gopacket's
// pcapgo.Writer (nanosecond file) on a bufio.Writer, the same packet,
// written on the capture goroutine itself.
func BenchmarkPcapgoWritePacket(b *testing.B) {
	bw := bufio.NewWriterSize(io.Discard, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(DefaultSnaplen, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1500)
	binary.BigEndian.PutUint16(data[12:], 0x0800)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, int64(i)), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			b.Fatal(err)
		}
	}
	_ = bw.Flush()
}

// TestFlushAfter: a Sink keeps its buffer until its first packet is d old
// (packet time), then hands it over.
func TestFlushAfter(t *testing.T) {
	w, err := New(Config{Path: "-", Stdout: io.Discard, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Sink()
	data := make([]byte, 100)
	s.Write(decode.LinkEthernet, base, data, len(data))
	s.FlushAfter(base+int64(50*time.Millisecond), 100*time.Millisecond)
	if s.c == nil || s.c.n != 1 {
		t.Fatal("flushed before 100 ms")
	}
	s.Write(decode.LinkEthernet, base+int64(90*time.Millisecond), data, len(data))
	s.FlushAfter(base+int64(100*time.Millisecond), 100*time.Millisecond)
	if s.c != nil {
		t.Fatal("not flushed after 100 ms")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Written != 2 {
		t.Errorf("stats %+v", st)
	}
}
