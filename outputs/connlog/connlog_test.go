package connlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/internal/segtest"
	"github.com/fastsniff/fastsniff/reassembly"
)

const t0 = 1_700_000_000_000_000_000 // 2023-11-14T22:13:20Z

var (
	cli4 = netip.MustParseAddrPort("192.168.1.10:51000")
	srv4 = netip.MustParseAddrPort("93.184.216.34:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::10]:51000")
	srv6 = netip.MustParseAddrPort("[2001:db8::1]:443")
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// ids records the ID of every connection, in order of opening.
type ids struct{ v []uint64 }

func (x *ids) handler() reassembly.Handler {
	return reassembly.Funcs{OnOpen: func(c *reassembly.Conn) { x.v = append(x.v, c.ID()) }}
}

func TestLogLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client netip.AddrPort
		server netip.AddrPort
		vlans  reassembly.VLANs
		run    func(c *segtest.Conv)
		want   string // %s is the uid
	}{{
		name: "SF", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "GET / HTTP/1.0\r\n\r\n")
			c.S(segtest.ACK|segtest.PSH, "HTTP/1.0 200 OK\r\n\r\nhi")
			c.C(segtest.ACK, "")
			c.Close()
		},
		want: `{"ts":1700000000.000000,"uid":"%s","id.orig_h":"192.168.1.10","id.orig_p":51000,"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","duration":0.007000,"orig_bytes":18,"resp_bytes":21,"conn_state":"SF","missed_bytes":0,"history":"ShADadFf","orig_pkts":5,"resp_pkts":3,"close_reason":"fin","orig_delivered":18,"resp_delivered":21,"orig_sha256":"` + sha("GET / HTTP/1.0\r\n\r\n") + `","resp_sha256":"` + sha("HTTP/1.0 200 OK\r\n\r\nhi") + `"}`,
	}, {
		name: "S0 vlan", client: cli4, server: srv4, vlans: reassembly.VLANs{IDs: [4]uint16{10, 20}, N: 2},
		run: func(c *segtest.Conv) {
			c.C(segtest.SYN, "")
			c.CSeq = 0
			c.C(segtest.SYN, "") // retransmitted
		},
		want: `{"ts":1700000000.000000,"uid":"%s","id.orig_h":"192.168.1.10","id.orig_p":51000,"id.resp_h":"93.184.216.34","id.resp_p":80,"vlan":[10,20],"proto":"tcp","duration":0.001000,"orig_bytes":0,"resp_bytes":0,"conn_state":"S0","missed_bytes":0,"history":"ST","orig_pkts":2,"resp_pkts":0,"close_reason":"flush","orig_delivered":0,"resp_delivered":0,"orig_sha256":"` + sha("") + `","resp_sha256":"` + sha("") + `"}`,
	}, {
		name: "REJ v6", client: cli6, server: srv6,
		run: func(c *segtest.Conv) {
			c.C(segtest.SYN, "")
			c.S(segtest.RST|segtest.ACK, "")
		},
		want: `{"ts":1700000000.000000,"uid":"%s","id.orig_h":"2001:db8::10","id.orig_p":51000,"id.resp_h":"2001:db8::1","id.resp_p":443,"proto":"tcp","duration":0.001000,"orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","missed_bytes":0,"history":"Sr","orig_pkts":1,"resp_pkts":1,"close_reason":"rst","orig_delivered":0,"resp_delivered":0,"orig_sha256":"` + sha("") + `","resp_sha256":"` + sha("") + `"}`,
	}, {
		name: "RSTO", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "abc")
			c.S(segtest.ACK, "")
			c.C(segtest.RST|segtest.ACK, "")
		},
		want: `{"ts":1700000000.000000,"uid":"%s","id.orig_h":"192.168.1.10","id.orig_p":51000,"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","duration":0.005000,"orig_bytes":3,"resp_bytes":0,"conn_state":"RSTO","missed_bytes":0,"history":"ShADaR","orig_pkts":4,"resp_pkts":2,"close_reason":"rst","orig_delivered":3,"resp_delivered":0,"orig_sha256":"` + sha("abc") + `","resp_sha256":"` + sha("") + `"}`,
	}, {
		name: "OTH midstream with gap", client: cli4, server: srv4,
		run: func(c *segtest.Conv) {
			c.CSeq, c.SSeq = 1000, 5000
			c.C(segtest.ACK|segtest.PSH, "1234")
			c.S(segtest.ACK, "")
			c.LoseC(6)
			c.C(segtest.ACK|segtest.PSH, "abcd")
			c.S(segtest.ACK|segtest.PSH, "xyz")
			c.C(segtest.ACK, "")
		},
		want: `{"ts":1700000000.000000,"uid":"%s","id.orig_h":"192.168.1.10","id.orig_p":51000,"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","duration":0.004000,"orig_bytes":14,"resp_bytes":3,"conn_state":"OTH","missed_bytes":6,"history":"ADadG","orig_pkts":3,"resp_pkts":2,"close_reason":"flush","orig_delivered":8,"resp_delivered":3,"orig_sha256":"` + sha("1234abcd") + `","resp_sha256":"` + sha("xyz") + `"}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			log := New(&out, Options{Digest: true})
			var got ids
			tab := reassembly.NewTable(reassembly.Config{}, reassembly.Multi(log.Handler(), got.handler()))
			c := &segtest.Conv{T: tab, Client: tc.client, Server: tc.server, VLANs: tc.vlans, TS: t0}
			tc.run(c)
			tab.Flush(reassembly.ReasonFlush)
			if err := log.Close(); err != nil {
				t.Fatal(err)
			}
			if len(got.v) != 1 {
				t.Fatalf("%d connections", len(got.v))
			}
			want := fmt.Sprintf(tc.want, UID(got.v[0])) + "\n"
			if out.String() != want {
				t.Errorf("\n got %s\nwant %s", out.String(), want)
			}
			recs, err := Read(&out)
			if err != nil || len(recs) != 1 {
				t.Fatalf("Read: %v, %d records", err, len(recs))
			}
			if id, ok := ParseUID(recs[0].UID); !ok || id != got.v[0] {
				t.Errorf("uid %s does not parse back to %d", recs[0].UID, got.v[0])
			}
		})
	}
}

// TestNoDigest checks that the digest fields are absent without the option
// and that the handler keeps no per-connection state.
func TestNoDigest(t *testing.T) {
	var out bytes.Buffer
	log := New(&out, Options{})
	h := log.Handler()
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{
		OnOpen: h.Opened, OnSent: h.Sent, OnReceived: h.Received,
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			if c.Ctx != nil {
				t.Errorf("Ctx = %v", c.Ctx)
			}
			h.Closed(c, r)
		},
	})
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.Handshake()
	c.C(segtest.ACK, "x")
	c.Close()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "sha256") || !strings.Contains(s, `"conn_state":"SF"`) || !strings.HasSuffix(s, `"orig_delivered":1,"resp_delivered":0}`+"\n") {
		t.Errorf("line %s", s)
	}
}

// TestWorkers runs several workers on one Log and checks every line
// arrives whole.
func TestWorkers(t *testing.T) {
	const workers, conns = 4, 300
	var out bytes.Buffer
	log := New(&out, Options{BufferSize: 1024, QueueLen: 2})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		h := log.Handler()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tab := reassembly.NewTable(reassembly.Config{}, h)
			for i := 0; i < conns; i++ {
				cl := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(w), byte(i >> 8), byte(i)}), 40000)
				c := &segtest.Conv{T: tab, Client: cl, Server: srv4, TS: t0 + int64(i)*1e9}
				c.Handshake()
				c.C(segtest.ACK|segtest.PSH, strings.Repeat("a", i))
				c.S(segtest.ACK, "")
				c.Close()
			}
			tab.Flush(reassembly.ReasonFlush)
		}(w)
	}
	wg.Wait()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	total := out.Len()
	recs, err := Read(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != workers*conns {
		t.Fatalf("%d records, want %d", len(recs), workers*conns)
	}
	Sort(recs)
	seen := map[string]bool{}
	for i, r := range recs {
		if seen[r.UID] {
			t.Errorf("uid %s twice", r.UID)
		}
		seen[r.UID] = true
		if r.ConnState != "SF" || r.OrigDelivered != r.OrigBytes {
			t.Errorf("record %+v", r)
		}
		if i > 0 && recs[i-1].TS > r.TS {
			t.Errorf("not sorted at %d", i)
		}
	}
	if st := log.Stats(); st.Buffers < 2 || st.Bytes != uint64(total) {
		t.Errorf("stats %+v, %d bytes out", st, total)
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct {
	n   int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteError checks that workers keep running when the output fails
// and that Close reports the first error.
func TestWriteError(t *testing.T) {
	boom := errors.New("disk full")
	fw := &failWriter{n: 100, err: boom}
	log := New(fw, Options{BufferSize: 256, QueueLen: 1})
	tab := reassembly.NewTable(reassembly.Config{}, log.Handler())
	for i := 0; i < 200; i++ {
		c := &segtest.Conv{T: tab, Client: netip.AddrPortFrom(cli4.Addr(), uint16(1024+i)), Server: srv4, TS: t0 + int64(i)*1e6}
		c.C(segtest.SYN, "")
	}
	tab.Flush(reassembly.ReasonFlush) // 200 lines: many buffers after the failure
	if err := log.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v, want %v", err, boom)
	}
	if err := log.Close(); !errors.Is(err, boom) {
		t.Fatalf("second Close = %v", err)
	}
}

type closeRecorder struct {
	bytes.Buffer
	closed int
}

func (c *closeRecorder) Close() error { c.closed++; return errors.New("close failed") }

func TestCloserError(t *testing.T) {
	var w closeRecorder
	log := NewCloser(&w, Options{})
	if err := log.Close(); err == nil || w.closed != 1 {
		t.Fatalf("Close = %v, closed %d times", err, w.closed)
	}
}

// gateWriter blocks every write until released.
type gateWriter struct {
	gate chan struct{}
	out  bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.gate
	return g.out.Write(p)
}

// TestBackPressure checks that a worker waits (and counts a stall) only
// once the queue is full, and that nothing is lost.
func TestBackPressure(t *testing.T) {
	g := &gateWriter{gate: make(chan struct{})}
	log := New(g, Options{BufferSize: 128, QueueLen: 2, FlushInterval: -1})
	h := log.Handler()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tab := reassembly.NewTable(reassembly.Config{}, h)
		for i := 0; i < 20; i++ { // every line fills a 128-byte buffer
			c := &segtest.Conv{T: tab, Client: netip.AddrPortFrom(cli4.Addr(), uint16(1024+i)), Server: srv4, TS: t0}
			c.C(segtest.SYN, "")
		}
		tab.Flush(reassembly.ReasonFlush)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for log.Stats().Stalls == 0 {
		if time.Now().After(deadline) {
			t.Fatal("worker never waited for the writer")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("worker finished while the writer was blocked")
	default:
	}
	close(g.gate)
	<-done
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(&g.out)
	if err != nil || len(recs) != 20 {
		t.Fatalf("Read: %v, %d records", err, len(recs))
	}
}

// TestFlushInterval checks that a line does not wait for a full buffer
// once the interval has passed, and that Flush hands lines over.
func TestFlushInterval(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	log := New(w, Options{FlushInterval: time.Nanosecond})
	h := log.Handler()
	tab := reassembly.NewTable(reassembly.Config{}, h)
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.C(segtest.SYN, "")
	c2 := &segtest.Conv{T: tab, Client: cli6, Server: srv6, TS: t0}
	c2.C(segtest.SYN, "")
	tab.Flush(reassembly.ReasonFlush) // 2nd line: the interval has passed
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(out.String(), "\n") == 2
	})
	c3 := &segtest.Conv{T: tab, Client: cli4, Server: srv6, TS: t0}
	c3.C(segtest.SYN, "")
	tab.Flush(reassembly.ReasonFlush) // buffer was empty: the line waits
	h.Flush()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(out.String(), "\n") == 3
	})
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNoAllocs checks the per-Data path allocates nothing and the
// per-connection path nothing once the pool is warm.
func TestNoAllocs(t *testing.T) {
	log := New(io.Discard, Options{Digest: true})
	h := log.Handler()
	conn := openConn(t)
	payload := make([]byte, 1460)
	d := reassembly.Data{Bytes: payload}
	h.Opened(conn)
	if n := testing.AllocsPerRun(100, func() { h.Sent(conn, d); h.Received(conn, d) }); n != 0 {
		t.Errorf("%v allocations per Data", n)
	}
	if n := testing.AllocsPerRun(100, func() { h.Closed(conn, reassembly.ReasonFIN); h.Opened(conn) }); n != 0 {
		t.Errorf("%v allocations per connection", n)
	}
	_ = log.Close()
}

// openConn returns a live Conn from a Table (a connection that sent data
// both ways), to call a Handler with directly.
func openConn(tb testing.TB) *reassembly.Conn {
	var conn *reassembly.Conn
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{OnOpen: func(c *reassembly.Conn) { conn = c }})
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.Handshake()
	c.C(segtest.ACK, "hello")
	c.S(segtest.ACK, "world")
	c.C(segtest.ACK, "")
	if conn == nil {
		tb.Fatal("no connection")
	}
	conn.Ctx = nil
	return conn
}

func BenchmarkData(b *testing.B) {
	for _, digest := range []bool{false, true} {
		b.Run(fmt.Sprintf("digest=%v", digest), func(b *testing.B) {
			log := New(io.Discard, Options{Digest: digest})
			h := log.Handler()
			conn := openConn(b)
			h.Opened(conn)
			d := reassembly.Data{Bytes: make([]byte, 1460)}
			b.SetBytes(1460)
			b.ReportAllocs()
			for b.Loop() {
				h.Sent(conn, d)
			}
			_ = log.Close()
		})
	}
}

// BenchmarkConn is a connection's open and close, its line formatted:
// plain, with digests, with the Community ID, with a service.
func BenchmarkConn(b *testing.B) {
	for _, tc := range []struct {
		name    string
		opt     Options
		service bool
	}{
		{"plain", Options{}, false},
		{"digest", Options{Digest: true}, false},
		{"community-id", Options{CommunityID: communityid.Field{On: true}}, false},
		{"service", Options{}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			log := New(io.Discard, tc.opt)
			h := log.Handler()
			if tc.service {
				h.AddService("http", func() bool { return true })
				h.AddService("ssl", func() bool { return false })
			}
			conn := openConn(b)
			b.ReportAllocs()
			for b.Loop() {
				h.Opened(conn)
				h.Closed(conn, reassembly.ReasonFIN)
			}
			_ = log.Close()
		})
	}
}
