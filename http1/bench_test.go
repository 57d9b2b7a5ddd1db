package http1

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

type nopSink struct{ n int }

func (s *nopSink) Request(*Request, *reassembly.Conn)             {}
func (s *nopSink) Response(*Response, *Request, *reassembly.Conn) {}
func (s *nopSink) Body(m *Message, b []byte, c *reassembly.Conn)  { s.n += len(b) }

// pipelined builds n pipelined transactions with bodies of bodyLen bytes:
// requests alternate GET and POST (Content-Length body), responses
// alternate Content-Length and chunked (4 KiB chunks) bodies. cEnd and
// sEnd are where each transaction ends in the client and server streams.
func pipelined(n, bodyLen int) (client, server []byte, cEnd, sEnd []int) {
	body := strings.Repeat("x", bodyLen)
	var c, s strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			cEnd, sEnd = append(cEnd, c.Len()), append(sEnd, s.Len())
		}
		if i%2 == 0 {
			fmt.Fprintf(&c, "GET /item/%d?q=abc HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n", i)
		} else {
			fmt.Fprintf(&c, "POST /upload/%d HTTP/1.1\r\nHost: bench.example\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s", i, bodyLen, body)
		}
		if i%2 == 0 {
			fmt.Fprintf(&s, "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", bodyLen, body)
		} else {
			s.WriteString("HTTP/1.1 200 OK\r\nServer: bench\r\nTransfer-Encoding: chunked\r\n\r\n")
			for rest := bodyLen; rest > 0; rest -= 4096 {
				k := min(rest, 4096)
				fmt.Fprintf(&s, "%x\r\n%s\r\n", k, body[:k])
			}
			s.WriteString("0\r\n\r\n")
		}
	}
	cEnd, sEnd = append(cEnd, c.Len()), append(sEnd, s.Len())
	return []byte(c.String()), []byte(s.String()), cEnd, sEnd
}

// feedSegments feeds a stream in MSS-sized Data calls.
func feedSegments(p *Parser, s *ConnState, c *reassembly.Conn, d reassembly.Dir, b []byte) {
	const mss = 1448
	for off := 0; off < len(b); off += mss {
		end := min(off+mss, len(b))
		p.Feed(s, c, d, reassembly.Data{Bytes: b[off:end], Offset: uint64(off)})
	}
}

// benchPipelined parses n transactions on one connection, depth requests
// at a time: depth requests, then their responses, and so on.
func benchPipelined(b *testing.B, n, depth, bodyLen int) {
	client, server, cEnd, sEnd := pipelined(n, bodyLen)
	sink := &nopSink{}
	p := NewParser(Config{MaxPipeline: max(depth, DefaultMaxPipeline)}, sink)
	c := &reassembly.Conn{}
	run := func() {
		s := p.NewConnState()
		cOff, sOff := 0, 0
		for i := depth - 1; i < n+depth-1; i += depth {
			k := min(i, n-1)
			feedSegments(p, s, c, reassembly.FromClient, client[cOff:cEnd[k]])
			feedSegments(p, s, c, reassembly.FromServer, server[sOff:sEnd[k]])
			cOff, sOff = cEnd[k], sEnd[k]
		}
		p.Close(s, c, reassembly.ReasonFIN)
	}
	run() // warm the pools
	b.SetBytes(int64(len(client) + len(server)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*n), "allocs/tx")
	if st := p.Stats(); st.Transactions != uint64((b.N+1)*n) || st.NoRequest+st.NoResponse+st.Incomplete+st.ParseErrors != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// 1000 transactions pipelined 8 deep. Bodies of 0 B, 1 KiB and 64 KiB:
// allocations per transaction do not change with the body size (no
// allocation per body byte); the one left is the URI string.
func BenchmarkPipelinedNoBody(b *testing.B) { benchPipelined(b, 1000, 8, 0) }
func BenchmarkPipelined1KiB(b *testing.B)   { benchPipelined(b, 1000, 8, 1<<10) }
func BenchmarkPipelined64KiB(b *testing.B)  { benchPipelined(b, 1000, 8, 64<<10) }

// All 1000 requests before any response: more requests in flight than the
// object pools keep, so Request objects and header buffers are allocated.
func BenchmarkPipelinedDeep(b *testing.B) { benchPipelined(b, 1000, 1000, 1<<10) }

// Resynchronising through hostile bytes: many candidate start lines, none
// valid. The scan stays linear.
func benchResync(b *testing.B, dir reassembly.Dir, junk string) {
	data := []byte(junk)
	p := NewParser(Config{}, nil)
	c := &reassembly.Conn{}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := p.NewConnState()
		p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte("GET / HTTP/1.1\r\n\r\n")})
		p.Feed(s, c, dir, reassembly.Data{Bytes: data, Gap: 1})
		p.Close(s, c, reassembly.ReasonFIN)
	}
}

func BenchmarkResyncStatusLines(b *testing.B) {
	benchResync(b, reassembly.FromServer, strings.Repeat("HTTP/1.1 200 ", 80000))
}

func BenchmarkResyncRequestLines(b *testing.B) {
	benchResync(b, reassembly.FromClient, strings.Repeat("GET /", 200000))
}
