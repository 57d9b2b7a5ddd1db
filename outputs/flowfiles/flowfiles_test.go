package flowfiles

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/outputs/internal/segtest"
	"github.com/fastsniff/fastsniff/reassembly"
)

const t0 = 1_700_000_000_000_000_000

var (
	cli4 = netip.MustParseAddrPort("192.168.1.10:51000")
	srv4 = netip.MustParseAddrPort("93.184.216.34:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::10]:51000")
	srv6 = netip.MustParseAddrPort("[fe80::1:2]:443")
)

func TestName(t *testing.T) {
	for _, tc := range []struct {
		id             uint64
		client, server netip.AddrPort
		d              reassembly.Dir
		want           string
	}{
		{62, cli4, srv4, reassembly.FromClient, "C00000000010-192.168.1.10.51000-93.184.216.34.80.c2s"},
		{62, cli4, srv4, reassembly.FromServer, "C00000000010-192.168.1.10.51000-93.184.216.34.80.s2c"},
		{1, cli6, srv6, reassembly.FromServer, "C00000000001-2001_db8__10.51000-fe80__1_2.443.s2c"},
		{0, netip.MustParseAddrPort("[::]:0"), netip.MustParseAddrPort("[fe80::1%eth0]:1"), reassembly.FromClient, "C00000000000-__.0-fe80__1.1.c2s"},
	} {
		got := Name(tc.id, tc.client, tc.server, tc.d)
		if got != tc.want {
			t.Errorf("Name = %q, want %q", got, tc.want)
		}
		for _, c := range []byte(got) {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' || c == '_' || c == '-') {
				t.Errorf("Name %q has %q", got, c)
			}
		}
	}
}

// ids records every connection's ID in order of opening.
type ids struct{ v []uint64 }

func (x *ids) handler() reassembly.Handler {
	return reassembly.Funcs{OnOpen: func(c *reassembly.Conn) { x.v = append(x.v, c.ID()) }}
}

// readDir returns every file of dir with its contents.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func TestFiles(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1000) // 16000 bytes: split over buffers
	for _, tc := range []struct {
		name           string
		client, server netip.AddrPort
		opt            Options
		run            func(c *segtest.Conv)
		want           map[string]string // names without "<uid>-"
	}{{
		name: "both ways", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "GET / HTTP/1.0\r\n\r\n")
			c.S(segtest.ACK|segtest.PSH, "HTTP/1.0 200 OK\r\n\r\n")
			c.S(segtest.ACK|segtest.PSH, "body")
			c.C(segtest.ACK, "")
			c.Close()
		},
		want: map[string]string{
			"192.168.1.10.51000-93.184.216.34.80.c2s": "GET / HTTP/1.0\r\n\r\n",
			"192.168.1.10.51000-93.184.216.34.80.s2c": "HTTP/1.0 200 OK\r\n\r\nbody",
		},
	}, {
		name: "gap is a hole", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "aaaa")
			c.LoseC(5)
			c.C(segtest.ACK|segtest.PSH, "bbbb")
			c.S(segtest.ACK, "")
			c.Close()
		},
		want: map[string]string{
			"192.168.1.10.51000-93.184.216.34.80.c2s": "aaaa\x00\x00\x00\x00\x00bbbb",
		},
	}, {
		name: "trailing gap extends the file", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "aaaa")
			c.LoseC(3)
			c.C(segtest.FIN|segtest.ACK, "")
			c.S(segtest.FIN|segtest.ACK, "")
			c.C(segtest.ACK, "")
		},
		want: map[string]string{
			"192.168.1.10.51000-93.184.216.34.80.c2s": "aaaa\x00\x00\x00",
		},
	}, {
		name: "empty direction has no file", client: cli6, server: srv6,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.S(segtest.ACK|segtest.PSH, "banner")
			c.C(segtest.ACK, "")
			c.Close()
		},
		want: map[string]string{
			"2001_db8__10.51000-fe80__1_2.443.s2c": "banner",
		},
	}, {
		name: "big pieces split over small buffers", client: cli4, server: srv4,
		opt: Options{BufferSize: 1024, QueueLen: 1},
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, big[:9000])
			c.C(segtest.ACK|segtest.PSH, big[9000:])
			c.S(segtest.ACK, "")
			c.Close()
		},
		want: map[string]string{
			"192.168.1.10.51000-93.184.216.34.80.c2s": big,
		},
	}, {
		name: "syn only", client: cli4, server: srv4,
		run:  func(c *segtest.Conv) { c.C(segtest.SYN, "") },
		want: map[string]string{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := New(dir, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var got ids
			tab := reassembly.NewTable(reassembly.Config{}, reassembly.Multi(w.Handler(), got.handler()))
			c := &segtest.Conv{T: tab, Client: tc.client, Server: tc.server, TS: t0}
			tc.run(c)
			tab.Flush(reassembly.ReasonFlush)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if len(got.v) != 1 {
				t.Fatalf("%d connections", len(got.v))
			}
			want := map[string]string{}
			for n, b := range tc.want {
				want[connlog.UID(got.v[0])+"-"+n] = b
			}
			files := readDir(t, dir)
			if fmt.Sprint(keys(files)) != fmt.Sprint(keys(want)) {
				t.Fatalf("files %q, want %q", keys(files), keys(want))
			}
			for n, b := range want {
				if files[n] != b {
					t.Errorf("%s = %q, want %q", n, trunc(files[n]), trunc(b))
				}
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// TestMaxOpen interleaves many connections with MaxOpen 2, so that files
// are closed and reopened, and several workers, and checks every byte.
func TestMaxOpen(t *testing.T) {
	const workers, conns, rounds = 3, 5, 4
	dir := t.TempDir()
	w, err := New(dir, Options{MaxOpen: 2, BufferSize: 512, QueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		var got ids
		tab := reassembly.NewTable(reassembly.Config{}, reassembly.Multi(w.Handler(), got.handler()))
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			cs := make([]*segtest.Conv, conns)
			for i := range cs {
				cl := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(k), byte(i)}), 40000)
				cs[i] = &segtest.Conv{T: tab, Client: cl, Server: srv4, TS: t0}
				cs[i].Handshake()
			}
			var c2s, s2c [conns]string
			for r := 0; r < rounds; r++ {
				for i, c := range cs {
					a := fmt.Sprintf("w%d c%d r%d up;", k, i, r)
					b := fmt.Sprintf("w%d c%d r%d down;", k, i, r)
					c.C(segtest.ACK|segtest.PSH, a)
					c.S(segtest.ACK|segtest.PSH, b)
					c2s[i] += a
					s2c[i] += b
				}
			}
			for _, c := range cs {
				c.C(segtest.ACK, "")
			}
			for _, c := range cs[:conns-1] { // the last one is left to Writer.Close
				c.Close()
			}
			mu.Lock()
			for i, c := range cs {
				name := Name(got.v[i], c.Client, c.Server, reassembly.FromClient)
				want[name] = c2s[i]
				want[strings.TrimSuffix(name, SuffixC2S)+SuffixS2C] = s2c[i]
			}
			mu.Unlock()
		}(k)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := readDir(t, dir)
	if fmt.Sprint(keys(files)) != fmt.Sprint(keys(want)) {
		t.Fatalf("files %q, want %q", keys(files), keys(want))
	}
	for n, b := range want {
		if files[n] != b {
			t.Errorf("%s = %q, want %q", n, files[n], b)
		}
	}
	st := w.Stats()
	if st.Files != workers*conns*2 || st.Reopens == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWriteError makes one file impossible to create (a directory of that
// name exists) and checks that Close reports it and workers never block.
func TestWriteError(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{BufferSize: 256, QueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got ids
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Multi(w.Handler(), got.handler()))
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.C(segtest.SYN, "")
	c.S(segtest.SYN|segtest.ACK, "") // the connection leaves the half-open state: Opened
	if err := os.Mkdir(filepath.Join(dir, Name(got.v[0], cli4, srv4, reassembly.FromClient)), 0o755); err != nil {
		t.Fatal(err)
	}
	c.C(segtest.ACK, "")
	for i := 0; i < 100; i++ { // many buffers after the failure
		c.C(segtest.ACK|segtest.PSH, strings.Repeat("x", 200))
		c.S(segtest.ACK|segtest.PSH, strings.Repeat("y", 200))
	}
	c.Close()
	err = w.Close()
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("Close = %v, want a *PathError", err)
	}
	if err2 := w.Close(); err2 != err {
		t.Errorf("second Close = %v", err2)
	}
}

// TestNoAllocs checks the per-Data path allocates nothing.
func TestNoAllocs(t *testing.T) {
	w, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := w.Handler()
	conn := openConn(t)
	h.Opened(conn)
	d := reassembly.Data{Bytes: bytes.Repeat([]byte{'z'}, 1460)}
	if n := testing.AllocsPerRun(200, func() {
		h.Sent(conn, d)
		d.Offset += uint64(len(d.Bytes))
	}); n != 0 {
		t.Errorf("%v allocations per Data", n)
	}
	h.Closed(conn, reassembly.ReasonFIN)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func openConn(tb testing.TB) *reassembly.Conn {
	var conn *reassembly.Conn
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{OnOpen: func(c *reassembly.Conn) { conn = c }})
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.Handshake()
	if conn == nil {
		tb.Fatal("no connection")
	}
	conn.Ctx = nil
	return conn
}

// BenchmarkData is the worker's cost per delivered piece (the writer
// goroutine writes to a tmpfs-or-temp directory in the background).
func BenchmarkData(b *testing.B) {
	w, err := New(benchDir(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := w.Handler()
	conn := openConn(b)
	h.Opened(conn)
	d := reassembly.Data{Bytes: make([]byte, 1460)}
	b.SetBytes(1460)
	b.ReportAllocs()
	for b.Loop() {
		h.Sent(conn, d)
		d.Offset += 1460
		if d.Offset >= 1<<20 { // keep the file small: rewrite the first MiB
			d.Offset = 0
		}
	}
	h.Closed(conn, reassembly.ReasonFIN)
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConn is the cost per connection that delivers 100 bytes each
// way: two files created, written and closed (worker and writer).
func BenchmarkConn(b *testing.B) {
	w, err := New(benchDir(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := w.Handler()
	conn := openConn(b)
	d := reassembly.Data{Bytes: make([]byte, 100)}
	b.ReportAllocs()
	for b.Loop() {
		h.Opened(conn)
		h.Sent(conn, d)
		h.Received(conn, d)
		h.Closed(conn, reassembly.ReasonFIN)
	}
	if err := w.Close(); err != nil { // every file written before the timer stops
		b.Fatal(err)
	}
}

func benchDir(b *testing.B) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "flowfiles-bench")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

// workerOnly replaces w's writer by one that discards everything, to
// measure what the worker pays alone.
func workerOnly(w *Writer) {
	_ = w.pipe.Close()
	w.pipe = pipe.New(pipe.Config{}, nil, nil)
}

func BenchmarkWorkerData(b *testing.B) {
	w, err := New(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	workerOnly(w)
	h := w.Handler()
	conn := openConn(b)
	h.Opened(conn)
	d := reassembly.Data{Bytes: make([]byte, 1460)}
	b.SetBytes(1460)
	b.ReportAllocs()
	for b.Loop() {
		h.Sent(conn, d)
		d.Offset += 1460
	}
	h.Closed(conn, reassembly.ReasonFIN)
	_ = w.Close()
}

func BenchmarkWorkerConn(b *testing.B) {
	w, err := New(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	workerOnly(w)
	h := w.Handler()
	conn := openConn(b)
	d := reassembly.Data{Bytes: make([]byte, 100)}
	b.ReportAllocs()
	for b.Loop() {
		h.Opened(conn)
		h.Sent(conn, d)
		h.Received(conn, d)
		h.Closed(conn, reassembly.ReasonFIN)
	}
	_ = w.Close()
}
