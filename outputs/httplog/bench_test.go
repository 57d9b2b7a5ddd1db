package httplog

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"syscall"
	"testing"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

// recConv builds the segments of one connection instead of feeding them.
type recConv struct {
	segs           []*reassembly.Segment
	client, server netip.AddrPort
	cseq, sseq     reassembly.Seq
	ts             int64
}

func (c *recConv) send(fromClient bool, f reassembly.Flags, payload []byte) {
	s := &reassembly.Segment{TS: c.ts, Flags: f, Window: 65535, WScale: -1, Payload: payload}
	src, dst, seq, ackv := c.client, c.server, &c.cseq, c.sseq
	if !fromClient {
		src, dst, seq, ackv = c.server, c.client, &c.sseq, c.cseq
	}
	s.SetAddrs(src.Addr(), dst.Addr())
	s.SrcPort, s.DstPort = src.Port(), dst.Port()
	s.Seq = *seq
	if f&reassembly.ACK != 0 {
		s.Ack = ackv
	}
	c.segs = append(c.segs, s)
	*seq = seq.Add(len(payload))
	if f&(reassembly.SYN|reassembly.FIN) != 0 {
		*seq = seq.Add(1)
	}
	c.ts += 50e3
}

// benchFlows builds conns keep-alive connections of txns transactions
// each: GET (or a small POST) and a response whose body is small, medium
// or large, with Content-Length or chunked framing, in 1448-byte
// segments each ACKed by the peer every other segment.
func benchFlows(conns, txns int) (flows [][]*reassembly.Segment, pkts, bodyBytes int) {
	r := rand.New(rand.NewPCG(1, 2))
	blob := make([]byte, 1<<20)
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	for k := 0; k < conns; k++ {
		c := &recConv{client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(k >> 8), byte(k)}), uint16(30000+k)),
			server: netip.MustParseAddrPort("10.2.0.1:80"), cseq: reassembly.Seq(r.Uint32()), sseq: reassembly.Seq(r.Uint32()), ts: t0}
		c.send(true, reassembly.SYN, nil)
		c.send(false, reassembly.SYN|reassembly.ACK, nil)
		c.send(true, reassembly.ACK, nil)
		for i := 0; i < txns; i++ {
			var req, res bytes.Buffer
			if i%5 == 4 {
				fmt.Fprintf(&req, "POST /api/v1/items/%d HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n", i)
				req.Write(blob[:300])
				bodyBytes += 300
			} else {
				fmt.Fprintf(&req, "GET /static/img/%d.png?v=%d HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: image/avif,image/webp,*/*\r\nReferer: https://www.example.com/index.html\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n", i, k)
			}
			var n int
			switch x := r.IntN(10); {
			case x < 5:
				n = 200 + r.IntN(2000)
			case x < 9:
				n = 2000 + r.IntN(30000)
			default:
				n = 100000 + r.IntN(400000)
			}
			body := blob[:n]
			bodyBytes += n
			res.WriteString("HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: nginx\r\nContent-Type: image/png\r\nCache-Control: max-age=3600\r\n")
			if i%3 == 2 {
				res.WriteString("Transfer-Encoding: chunked\r\n\r\n")
				for off := 0; off < n; off += 8192 {
					e := min(off+8192, n)
					fmt.Fprintf(&res, "%x\r\n", e-off)
					res.Write(body[off:e])
					res.WriteString("\r\n")
				}
				res.WriteString("0\r\n\r\n")
			} else {
				fmt.Fprintf(&res, "Content-Length: %d\r\n\r\n", n)
				res.Write(body)
			}
			rb, sb := req.Bytes(), res.Bytes()
			for off := 0; off < len(rb); off += 1448 {
				c.send(true, reassembly.ACK|reassembly.PSH, rb[off:min(off+1448, len(rb))])
			}
			c.send(false, reassembly.ACK, nil)
			for j, off := 0, 0; off < len(sb); j, off = j+1, off+1448 {
				c.send(false, reassembly.ACK|reassembly.PSH, sb[off:min(off+1448, len(sb))])
				if j%2 == 1 || off+1448 >= len(sb) {
					c.send(true, reassembly.ACK, nil)
				}
			}
		}
		c.send(true, reassembly.FIN|reassembly.ACK, nil)
		c.send(false, reassembly.FIN|reassembly.ACK, nil)
		c.send(true, reassembly.ACK, nil)
		flows = append(flows, c.segs)
		pkts += len(c.segs)
	}
	return flows, pkts, bodyBytes
}

func rewind(flows [][]*reassembly.Segment, round int) {
	for _, f := range flows {
		for _, s := range f {
			s.Seq += reassembly.Seq(round * 7919)
			s.Ack += reassembly.Seq(round * 7919)
			s.TS += 600e9
		}
	}
}

type nopHandler struct{ n uint64 }

func (h *nopHandler) Opened(*reassembly.Conn)                        {}
func (h *nopHandler) Sent(_ *reassembly.Conn, d reassembly.Data)     { h.n += uint64(len(d.Bytes)) }
func (h *nopHandler) Received(_ *reassembly.Conn, d reassembly.Data) { h.n += uint64(len(d.Bytes)) }
func (h *nopHandler) Closed(*reassembly.Conn, reassembly.Reason)     {}

func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkHTTPStream feeds an HTTP-heavy capture (32 keep-alive
// connections, 40 transactions each, mostly body bytes) through a Table:
// alone (nop handler), with the HTTP log, and with the log and body
// files. One op is one round of the whole capture; pkt metrics are per
// segment; cpu-ns/pkt is the process's CPU time (writer goroutine
// included); allocs/pkt counts every allocation of the process (the
// parser's one per request for its URI, the writer's per body file).
// With bodies the writer is bound by file creation (one file per body).
func BenchmarkHTTPStream(b *testing.B) {
	flows, pkts, _ := benchFlows(32, 40)
	for _, mode := range []string{"table", "httplog", "httplog+bodies"} {
		b.Run(mode, func(b *testing.B) {
			var h reassembly.Handler = &nopHandler{}
			var log *Log
			if mode != "table" {
				opt := Options{}
				if mode == "httplog+bodies" {
					opt.BodiesDir = b.TempDir()
				}
				var err error
				if log, err = New(io.Discard, opt); err != nil {
					b.Fatal(err)
				}
				h = log.Handler()
			}
			tab := reassembly.NewTable(reassembly.Config{}, h)
			round := 0
			feed := func() {
				for _, f := range flows {
					for _, s := range f {
						tab.Feed(s)
					}
				}
				tab.Flush(reassembly.ReasonFlush)
			}
			feed() // warm the pools
			b.ReportAllocs()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			b.ResetTimer()
			cpu0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				round++
				rewind(flows, round)
				b.StartTimer()
				feed()
			}
			b.StopTimer()
			if log != nil {
				if err := log.Close(); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuNanos() - cpu0
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(b.N*pkts), "allocs/pkt")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pkts), "ns/pkt")
			b.ReportMetric(float64(cpu)/float64(b.N*pkts), "cpu-ns/pkt")
		})
	}
}

// TestBodyAllocs: with body files on, a body byte costs no allocation:
// feeding a long response body segment by segment allocates nothing.
func TestBodyAllocs(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		log, err := New(io.Discard, Options{BodiesDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		h := log.Handler()
		c := &reassembly.Conn{}
		h.Opened(c)
		h.Sent(c, reassembly.Data{Bytes: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")})
		hdr := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n"
		if chunked {
			hdr = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		}
		h.Received(c, reassembly.Data{Bytes: []byte(hdr)})
		seg := bytes.Repeat([]byte("x"), 1448)
		if chunked {
			seg = append([]byte("5a0\r\n"), append(bytes.Repeat([]byte("y"), 0x5a0), "\r\n"...)...)
		}
		off := uint64(len(hdr))
		allocs := testing.AllocsPerRun(2000, func() {
			h.Received(c, reassembly.Data{Bytes: seg, Offset: off})
			off += uint64(len(seg))
		})
		if allocs != 0 {
			t.Errorf("chunked %v: %.2f allocs per body segment", chunked, allocs)
		}
		h.Closed(c, reassembly.ReasonFIN)
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkLine encodes one typical transaction's record (worker side)
// and formats it (writer side).
func BenchmarkLine(b *testing.B) {
	var req *http1.Request
	var res *http1.Response
	p := http1.NewParser(http1.Config{}, http1.Funcs{OnResponse: func(rs *http1.Response, rq *http1.Request, c *reassembly.Conn) {
		req, res = rq.Clone(), rs.Clone()
	}})
	s := p.NewConnState()
	p.Feed(s, nil, reassembly.FromClient, reassembly.Data{Bytes: []byte("GET /static/img/12.png?v=3 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: image/avif,image/webp,*/*\r\nReferer: https://www.example.com/index.html\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n")})
	p.Feed(s, nil, reassembly.FromServer, reassembly.Data{Bytes: []byte("HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: nginx\r\nContent-Type: image/png\r\nCache-Control: max-age=3600\r\nContent-Length: 0\r\n\r\n")})
	var c *reassembly.Conn
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{OnOpen: func(cn *reassembly.Conn) { c = cn }})
	cv := &recConv{client: netip.MustParseAddrPort("10.1.2.3:40000"), server: netip.MustParseAddrPort("10.2.0.1:80"), ts: t0}
	cv.send(true, reassembly.SYN, nil)
	tab.Feed(cv.segs[0])
	prefix := appendConnPrefix(nil, c, communityid.Field{})
	rec := appendRecord(nil, prefix, req, res)
	b.Run("record", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf = appendRecord(buf[:0], prefix, req, res)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("format", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		var r lineRec
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			decodeRecord(rec, &r)
			buf = appendLine(buf[:0], &r)
		}
		b.SetBytes(int64(len(buf)))
	})
}

// threadCPU is the calling thread's CPU time (ns).
func threadCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// BenchmarkHTTPOverhead measures the HTTP log's CPU cost on the worker:
// each op feeds the capture of BenchmarkHTTPStream once through a Table
// alone, once through a Table with a bare http1 parser (no callbacks),
// and once through a Table with the HTTP log, in rotating order, on one
// locked thread, and compares the thread CPU times (so that other load on
// the machine weighs on all alike). overhead-% is (log - alone) / alone,
// parser-% the bare parser's share of it; the log's writer goroutine
// (formatting the lines, writing to io.Discard) is not counted:
// writer-ns/pkt is its CPU time, measured apart.
func BenchmarkHTTPOverhead(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	flows, pkts, _ := benchFlows(32, 40)
	log, err := New(io.Discard, Options{})
	if err != nil {
		b.Fatal(err)
	}
	tabs := [3]*reassembly.Table{
		reassembly.NewTable(reassembly.Config{}, &nopHandler{}),
		reassembly.NewTable(reassembly.Config{}, http1.NewHandler(http1.Config{}, nil)),
		reassembly.NewTable(reassembly.Config{}, log.Handler()),
	}
	var cpu [3]int64
	round := 0
	feed := func(k int) {
		round++
		rewind(flows, round)
		t0 := threadCPU()
		for _, f := range flows {
			for _, s := range f {
				tabs[k].Feed(s)
			}
		}
		tabs[k].Flush(reassembly.ReasonFlush)
		cpu[k] += threadCPU() - t0
	}
	for k := range tabs {
		feed(k) // warm up
	}
	cpu = [3]int64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range tabs {
			feed((i + k) % 3)
		}
	}
	b.StopTimer()
	if err := log.Close(); err != nil {
		b.Fatal(err)
	}
	n := float64(b.N * pkts)
	b.ReportMetric(float64(cpu[0])/n, "table-ns/pkt")
	b.ReportMetric(float64(cpu[2])/n, "httplog-ns/pkt")
	b.ReportMetric(100*float64(cpu[2]-cpu[0])/float64(cpu[0]), "overhead-%")
	b.ReportMetric(100*float64(cpu[1]-cpu[0])/float64(cpu[0]), "parser-%")

	// the writer's share: format the same lines on this thread
	var out bytes.Buffer
	wlog, err := New(&out, Options{BufferSize: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	tab := reassembly.NewTable(reassembly.Config{}, wlog.Handler())
	round++
	rewind(flows, round)
	for _, f := range flows {
		for _, s := range f {
			tab.Feed(s)
		}
	}
	tab.Flush(reassembly.ReasonFlush)
	var raw []byte
	h0 := wlog.hs.All()[0] // its worker (this goroutine) is done with it
	raw = append(raw, h0.buf...)
	h0.buf = h0.buf[:0]
	wlog.Close()
	w := newWriter(io.Discard, nil, &Options{})
	t0 := threadCPU()
	const reps = 20
	for range reps {
		if err := w.consume(raw, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(threadCPU()-t0)/float64(reps*pkts), "writer-ns/pkt")
}
