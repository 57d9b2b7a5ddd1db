package http1

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Sniffer::HTTP's t/02-chunked.t: GET /does_not_exist answered by a
// chunked 404 whose de-chunked body is Apache's HTML page (see
// testdata/http1/sniffer-02-chunked/README.md).
func TestSeedSnifferChunked(t *testing.T) {
	dir := "../testdata/http1/sniffer-02-chunked/"
	c2s, err := os.ReadFile(dir + "c2s.bin")
	if err != nil {
		t.Fatal(err)
	}
	s2c, err := os.ReadFile(dir + "s2c.bin")
	if err != nil {
		t.Fatal(err)
	}
	const (
		bodyLen    = 208
		bodySHA256 = "bf25767587149c5d93a2374759386c8df7df117d719122bebb991145c9c60892"
	)
	for _, cut := range []struct {
		name string
		f    func() int
	}{{"segments", whole}, {"bytes", ones}} {
		t.Run(cut.name, func(t *testing.T) {
			type tx struct {
				req, res string
				reqH     string
				resH     string
				body     []byte
				res404   *Response
				req1     *Request
			}
			var got []tx
			var body []byte
			h := NewHandler(Config{}, Funcs{
				OnBody: func(m *Message, chunk []byte, c *reassembly.Conn) {
					if m.IsRequest() {
						t.Errorf("request body bytes %q", chunk)
					}
					body = append(body, chunk...)
				},
				OnResponse: func(res *Response, req *Request, c *reassembly.Conn) {
					if res == nil || req == nil {
						t.Fatalf("unpaired: %v %v", res, req)
					}
					got = append(got, tx{
						req: req.Method + " " + req.URI + " " + req.Proto, res: res.Proto + " " + res.Reason,
						reqH: renderHeader(&req.Header), resH: renderHeader(&res.Header),
						body: body, res404: res.Clone(), req1: req.Clone(),
					})
				},
			})
			c := &reassembly.Conn{}
			h.Opened(c)
			var ts int64 = 1130097518_000000000
			for _, d := range split(bytesOf(string(c2s)), cut.f) {
				d.TS = ts
				h.Sent(c, d)
			}
			for _, d := range split(bytesOf(string(s2c)), cut.f) {
				ts++
				d.TS = ts
				h.Received(c, d)
			}
			h.Closed(c, reassembly.ReasonFIN)

			if len(got) != 1 {
				t.Fatalf("%d transactions, want 1", len(got))
			}
			g := got[0]
			if g.req != "GET /does_not_exist HTTP/1.1" || g.res != "HTTP/1.1 Not Found" || g.res404.StatusCode != 404 {
				t.Errorf("got %q / %q %d", g.req, g.res, g.res404.StatusCode)
			}
			if want := "TE: deflate,gzip;q=0.3\nConnection: TE, close\nHost: www.corion.net\nUser-Agent: lwp-request/2.06\n"; g.reqH != want {
				t.Errorf("request headers %q", g.reqH)
			}
			if want := "Date: Sun, 23 Oct 2005 19:58:38 GMT\nServer: Apache/1.3.31 (Unix)\nConnection: close\nTransfer-Encoding: chunked\nContent-Type: text/html; charset=iso-8859-1\n"; g.resH != want {
				t.Errorf("response headers %q", g.resH)
			}
			sum := sha256.Sum256(g.body)
			if len(g.body) != bodyLen || hex.EncodeToString(sum[:]) != bodySHA256 {
				t.Errorf("body %d bytes sha256 %x", len(g.body), sum)
			}
			if !strings.Contains(string(g.body), "The requested URL /does_not_exist was not found on this server.") {
				t.Errorf("body %q", g.body)
			}
			r := g.res404
			hdrLen := uint64(strings.Index(string(s2c), "\r\n\r\n") + 4)
			if !r.Chunked || !r.Close || r.ContentLength != -1 || r.BodyLen != bodyLen || r.WireLen != uint64(len(s2c))-hdrLen || r.WireLen != 220 || r.HeaderLen != hdrLen || r.GapLen != 0 || r.Flags != 0 || r.Depth != 1 {
				t.Errorf("response %+v", r.Message)
			}
			if v := string(r.ContentType()); v != "text/html; charset=iso-8859-1" {
				t.Errorf("Content-Type %q", v)
			}
			q := g.req1
			if q.HeaderLen != uint64(len(c2s)) || q.BodyLen != 0 || !q.Close || q.Flags != 0 || q.Depth != 1 || string(q.Host()) != "www.corion.net" || string(q.UserAgent()) != "lwp-request/2.06" || q.Referer() != nil {
				t.Errorf("request %+v", q.Message)
			}
			st := h.Stats()
			want := Stats{Conns: 1, HTTPConns: 1, Requests: 1, Responses: 1, Transactions: 1, BodyBytes: bodyLen}
			if st != want {
				t.Errorf("stats %+v\nwant %+v", st, want)
			}
		})
	}
}

// Every cut of each stream into two pieces gives the same transaction.
func TestSeedEveryBoundary(t *testing.T) {
	dir := "../testdata/http1/sniffer-02-chunked/"
	c2s, err := os.ReadFile(dir + "c2s.bin")
	if err != nil {
		t.Fatal(err)
	}
	s2c, err := os.ReadFile(dir + "s2c.bin")
	if err != nil {
		t.Fatal(err)
	}
	ref := runConn(t, Config{}, bytesOf(string(c2s)), bytesOf(string(s2c)), whole, reassembly.ReasonFIN)
	if len(ref.events) != 2 {
		t.Fatalf("events %q", ref.events)
	}
	for _, cutDir := range []int{0, 1} {
		stream := [2][]byte{c2s, s2c}[cutDir]
		for k := 1; k < len(stream); k++ {
			first := true
			cut := func() int {
				if first {
					first = false
					return k
				}
				return 1 << 30
			}
			var r result
			if cutDir == 0 {
				r = runConnCuts(t, bytesOf(string(c2s)), bytesOf(string(s2c)), cut, whole)
			} else {
				r = runConnCuts(t, bytesOf(string(c2s)), bytesOf(string(s2c)), whole, cut)
			}
			if strings.Join(r.events, "\n") != strings.Join(ref.events, "\n") || r.stats != ref.stats {
				t.Fatalf("dir %d cut at %d:\n%q\nwant\n%q", cutDir, k, r.events, ref.events)
			}
		}
	}
}

func runConnCuts(t *testing.T, client, server []piece, cc, sc func() int) result {
	rec := newRecorder(t)
	p := NewParser(Config{}, rec)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	for _, d := range split(client, cc) {
		p.Feed(s, c, reassembly.FromClient, d)
	}
	for _, d := range split(server, sc) {
		p.Feed(s, c, reassembly.FromServer, d)
	}
	p.Close(s, c, reassembly.ReasonFIN)
	return result{rec.events, p.Stats(), rec}
}
