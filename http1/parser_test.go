package http1

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// ml renders the message part of an event line (see recorder.msgLine).
func ml(proto string, cl int64, ch, close bool, hdr, wire, body, gap int, flags Flags, b string) string {
	s := fmt.Sprintf("%s cl=%d ch=%v close=%v hdr=%d wire=%d body=%d gap=%d flags=%v", proto, cl, ch, close, hdr, wire, body, gap, flags)
	if b != "" {
		s += fmt.Sprintf(" %q", b)
	}
	return s
}

func rq(d int, method, uri, m string) string {
	return fmt.Sprintf("req d=%d %s %s %s", d, method, uri, m)
}

func rs(d, code int, reason, to string, interim int, m string) string {
	in := ""
	if interim != 0 {
		in = fmt.Sprintf(" interim=%d", interim)
	}
	return fmt.Sprintf("res d=%d %d %q to=%s%s %s", d, code, reason, to, in, m)
}

func none(d int, to string, f Flags) string {
	return fmt.Sprintf("res d=%d none to=%s flags=%v", d, to, f)
}

// simple messages used by several cases
const (
	h11 = "HTTP/1.1"
	h10 = "HTTP/1.0"
)

func get(uri string) string { return "GET " + uri + " HTTP/1.1\r\nHost: example.com\r\n\r\n" }

func ok(body string) (hdr, all string) {
	hdr = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
	return hdr, hdr + body
}

type tcase struct {
	name           string
	cfg            Config
	client, server []piece
	reason         reassembly.Reason
	want           []string
	check          func(t *testing.T, r result)
}

func cases() []tcase {
	var cs []tcase
	add := func(c tcase) { cs = append(cs, c) }

	// --- Content-Length
	{
		g := get("/a")
		sh, s := ok("hello")
		add(tcase{name: "content-length", client: bytesOf(g), server: bytesOf(s),
			want: []string{
				rq(1, "GET", "/a", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/a", 0, ml(h11, 5, false, false, len(sh), 5, 5, 0, 0, "hello")),
			},
			check: func(t *testing.T, r result) {
				if got := r.rec.hdrs["1 req"]; got != "Host: example.com\n" {
					t.Errorf("request headers %q", got)
				}
				if r.stats.Transactions != 1 || r.stats.Requests != 1 || r.stats.Responses != 1 || r.stats.HTTPConns != 1 || r.stats.BodyBytes != 5 {
					t.Errorf("stats %+v", r.stats)
				}
				if r.rec.seenH != 2 {
					t.Errorf("Headers sink called %d times, want 2", r.rec.seenH)
				}
			}})
	}
	{
		post := "POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
		res := "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
		add(tcase{name: "post", client: bytesOf(post + "hello world"), server: bytesOf(res),
			want: []string{
				rq(1, "POST", "/up", ml(h11, 11, false, false, len(post), 11, 11, 0, 0, "hello world")),
				rs(1, 201, "Created", "/up", 0, ml(h11, 0, false, false, len(res), 0, 0, 0, 0, "")),
			}})
	}
	// --- keep-alive: three transactions, the last one closing
	{
		g1, g2 := get("/1"), get("/2")
		g3 := "GET /3 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
		s1h, s1 := ok("ab")
		s2h := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		s2b := "3\r\nabc\r\n0\r\n\r\n"
		s3 := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
		add(tcase{name: "keep-alive", client: bytesOf(g1 + g2 + g3), server: bytesOf(s1 + s2h + s2b + s3),
			want: []string{
				rq(1, "GET", "/1", ml(h11, -1, false, false, len(g1), 0, 0, 0, 0, "")),
				rq(2, "GET", "/2", ml(h11, -1, false, false, len(g2), 0, 0, 0, 0, "")),
				rq(3, "GET", "/3", ml(h11, -1, false, true, len(g3), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/1", 0, ml(h11, 2, false, false, len(s1h), 2, 2, 0, 0, "ab")),
				rs(2, 200, "OK", "/2", 0, ml(h11, -1, true, false, len(s2h), len(s2b), 3, 0, 0, "abc")),
				rs(3, 200, "OK", "/3", 0, ml(h11, 0, false, true, len(s3), 0, 0, 0, 0, "")),
			}})
	}
	// --- chunked with extensions and trailers, both directions
	{
		ph := "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		pb := "4\r\nabcd\r\nA;x=1\r\n0123456789\r\n0\r\n\r\n"
		sh := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
		sb := "5;name=val\r\nhello\r\n6 ; q=\"a;b\"\r\n world\r\n0;last\r\nX-Sum: 42\r\nX-Other: y\r\n\r\n"
		add(tcase{name: "chunked", client: bytesOf(ph + pb), server: bytesOf(sh + sb),
			want: []string{
				rq(1, "POST", "/c", ml(h11, -1, true, false, len(ph), len(pb), 14, 0, 0, "abcd0123456789")),
				rs(1, 200, "OK", "/c", 0, ml(h11, -1, true, false, len(sh), len(sb), 11, 0, 0, "hello world")+` trailer="X-Sum: 42\nX-Other: y\n"`),
			}})
	}
	{
		g := get("/z")
		sh := "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
		sb := "2\r\n\x1f\x8b\r\n0\r\n\r\n"
		g2 := get("/y")
		s2h := "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"
		add(tcase{name: "te-codings", client: bytesOf(g + g2), server: bytesOf(sh + sb + s2h + "rest"), reason: reassembly.ReasonFIN,
			want: []string{
				rq(1, "GET", "/z", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rq(2, "GET", "/y", ml(h11, -1, false, false, len(g2), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/z", 0, ml(h11, -1, true, false, len(sh), len(sb), 2, 0, 0, "\x1f\x8b")),
				rs(2, 200, "OK", "/y", 0, ml(h11, -1, false, false, len(s2h), 4, 4, 0, 0, "rest")),
			}})
	}
	// --- close-delimited
	{
		g := "GET /old HTTP/1.0\r\n\r\n"
		sh := "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
		sb := "some body\nuntil the close"
		for _, rc := range []struct {
			r reassembly.Reason
			f Flags
		}{{reassembly.ReasonFIN, 0}, {reassembly.ReasonRST, FlagIncomplete}, {reassembly.ReasonFlush, FlagIncomplete}} {
			add(tcase{name: "close-delimited-" + rc.r.String(), client: bytesOf(g), server: bytesOf(sh + sb), reason: rc.r,
				want: []string{
					rq(1, "GET", "/old", ml(h10, -1, false, true, len(g), 0, 0, 0, 0, "")),
					rs(1, 200, "OK", "/old", 0, ml(h10, -1, false, true, len(sh), len(sb), len(sb), 0, rc.f, sb)),
				}})
		}
	}
	// --- HEAD, 204, 304: no body whatever the headers say
	{
		h := "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
		g1, g2, g3 := get("/n"), get("/m"), get("/g")
		s1 := "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
		s2 := "HTTP/1.1 204 No Content\r\n\r\n"
		s3 := "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\n"
		s4h, s4 := ok("xyz")
		add(tcase{name: "head-204-304", client: bytesOf(h + g1 + g2 + g3), server: bytesOf(s1 + s2 + s3 + s4),
			want: []string{
				rq(1, "HEAD", "/h", ml(h11, -1, false, false, len(h), 0, 0, 0, 0, "")),
				rq(2, "GET", "/n", ml(h11, -1, false, false, len(g1), 0, 0, 0, 0, "")),
				rq(3, "GET", "/m", ml(h11, -1, false, false, len(g2), 0, 0, 0, 0, "")),
				rq(4, "GET", "/g", ml(h11, -1, false, false, len(g3), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/h", 0, ml(h11, 1000, false, false, len(s1), 0, 0, 0, 0, "")),
				rs(2, 204, "No Content", "/n", 0, ml(h11, -1, false, false, len(s2), 0, 0, 0, 0, "")),
				rs(3, 304, "Not Modified", "/m", 0, ml(h11, 1234, false, false, len(s3), 0, 0, 0, 0, "")),
				rs(4, 200, "OK", "/g", 0, ml(h11, 3, false, false, len(s4h), 3, 3, 0, 0, "xyz")),
			}})
	}
	// --- 1xx: 100 Continue and 103 Early Hints, client side complete first
	{
		ph := "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
		g := get("/hints")
		s1 := "HTTP/1.1 100 Continue\r\n\r\n"
		s2 := "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
		s3 := "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
		s4h, s4 := ok("hi")
		add(tcase{name: "interim", client: bytesOf(ph + "data" + g), server: bytesOf(s1 + s2 + s3 + s4),
			want: []string{
				rq(1, "PUT", "/f", ml(h11, 4, false, false, len(ph), 4, 4, 0, 0, "data")),
				rq(2, "GET", "/hints", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				`interim d=1 100 "Continue" to=/f`,
				rs(1, 201, "Created", "/f", 100, ml(h11, 0, false, false, len(s2), 0, 0, 0, 0, "")),
				`interim d=2 103 "Early Hints" to=/hints`,
				rs(2, 200, "OK", "/hints", 103, ml(h11, 2, false, false, len(s4h), 2, 2, 0, 0, "hi")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Interim != 2 || r.stats.Responses != 2 || r.stats.Transactions != 2 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	// --- pipelining, depth 5
	{
		c := []string{get("/1"), "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n", get("/3"), "POST /4 HTTP/1.1\r\nContent-Length: 3\r\n\r\n", get("/5")}
		s1h, s1 := ok("a")
		s2 := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		s3h, s3b := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\nbb\r\n0\r\n\r\n"
		s4 := "HTTP/1.1 204 No Content\r\n\r\n"
		s5h, s5 := ok("eee")
		add(tcase{name: "pipelining-5", client: bytesOf(c[0] + c[1] + c[2] + c[3] + "abc" + c[4]), server: bytesOf(s1 + s2 + s3h + s3b + s4 + s5),
			want: []string{
				rq(1, "GET", "/1", ml(h11, -1, false, false, len(c[0]), 0, 0, 0, 0, "")),
				rq(2, "HEAD", "/2", ml(h11, -1, false, false, len(c[1]), 0, 0, 0, 0, "")),
				rq(3, "GET", "/3", ml(h11, -1, false, false, len(c[2]), 0, 0, 0, 0, "")),
				rq(4, "POST", "/4", ml(h11, 3, false, false, len(c[3]), 3, 3, 0, 0, "abc")),
				rq(5, "GET", "/5", ml(h11, -1, false, false, len(c[4]), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/1", 0, ml(h11, 1, false, false, len(s1h), 1, 1, 0, 0, "a")),
				rs(2, 200, "OK", "/2", 0, ml(h11, 100, false, false, len(s2), 0, 0, 0, 0, "")),
				rs(3, 200, "OK", "/3", 0, ml(h11, -1, true, false, len(s3h), len(s3b), 2, 0, 0, "bb")),
				rs(4, 204, "No Content", "/4", 0, ml(h11, -1, false, false, len(s4), 0, 0, 0, 0, "")),
				rs(5, 200, "OK", "/5", 0, ml(h11, 3, false, false, len(s5h), 3, 3, 0, 0, "eee")),
			}})
	}
	// --- CONNECT: tunnel after 200; after 407 HTTP goes on
	{
		c := "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
		s := "HTTP/1.1 200 Connection established\r\n\r\n"
		tlsC, tlsS := "\x16\x03\x01\x00\x05hello", "\x16\x03\x03\x00\x02hi"
		add(tcase{name: "connect", client: bytesOf(c + tlsC), server: bytesOf(s + tlsS),
			want: []string{
				rq(1, "CONNECT", "example.com:443", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				rs(1, 200, "Connection established", "example.com:443", 0, ml(h11, -1, false, false, len(s), 0, 0, 0, FlagTunnel, "")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Tunnels != 1 || r.stats.TunnelBytes != uint64(len(tlsC)+len(tlsS)) {
					t.Errorf("tunnel stats %d %d", r.stats.Tunnels, r.stats.TunnelBytes)
				}
			}})
		s407 := "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
		g := get("/after")
		s2h, s2 := ok("y")
		add(tcase{name: "connect-407", client: bytesOf(c + g), server: bytesOf(s407 + s2),
			want: []string{
				rq(1, "CONNECT", "example.com:443", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				rq(2, "GET", "/after", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 407, "Proxy Authentication Required", "example.com:443", 0, ml(h11, 0, false, false, len(s407), 0, 0, 0, 0, "")),
				rs(2, 200, "OK", "/after", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "y")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Tunnels != 0 {
					t.Errorf("tunnels %d", r.stats.Tunnels)
				}
			}})
	}
	// --- Upgrade: websocket (101), and an h2c upgrade the server ignores
	{
		c := "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
		s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		fc, fs := "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", "\x81\x05Hello"
		add(tcase{name: "websocket", client: bytesOf(c + fc), server: bytesOf(s + fs),
			want: []string{
				rq(1, "GET", "/chat", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				rs(1, 101, "Switching Protocols", "/chat", 0, ml(h11, -1, false, false, len(s), 0, 0, 0, FlagTunnel, "")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Tunnels != 1 || r.stats.TunnelBytes != uint64(len(fc)+len(fs)) {
					t.Errorf("tunnel stats %d %d", r.stats.Tunnels, r.stats.TunnelBytes)
				}
			}})
		u := "GET /u HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
		g := get("/next")
		s1h, s1 := ok("x")
		s2h, s2 := ok("y")
		add(tcase{name: "h2c-ignored", client: bytesOf(u + g), server: bytesOf(s1 + s2),
			want: []string{
				rq(1, "GET", "/u", ml(h11, -1, false, false, len(u), 0, 0, 0, 0, "")),
				rq(2, "GET", "/next", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/u", 0, ml(h11, 1, false, false, len(s1h), 1, 1, 0, 0, "x")),
				rs(2, 200, "OK", "/next", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "y")),
			}})
	}
	// --- gaps
	{
		ph := "POST /g HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
		g := get("/n")
		s1h, s1 := ok("1")
		s2h, s2 := ok("2")
		add(tcase{name: "gap-in-cl-body", client: []piece{{data: ph + "abc"}, {gap: 4, data: "def" + g}}, server: bytesOf(s1 + s2),
			want: []string{
				rq(1, "POST", "/g", ml(h11, 10, false, false, len(ph), 10, 10, 4, FlagGap, "abcdef")),
				rq(2, "GET", "/n", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/g", 0, ml(h11, 1, false, false, len(s1h), 1, 1, 0, 0, "1")),
				rs(2, 200, "OK", "/n", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "2")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Gaps != 1 || r.stats.GapBytes != 4 || r.stats.Resyncs != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		// a gap swallowing the end of a body and the next request's start
		add(tcase{name: "gap-past-cl-body", client: []piece{{data: ph + "abc"}, {gap: 12, data: "ost: example.com\r\n\r\n" + g}}, server: bytesOf(s1 + s2),
			want: []string{
				rq(1, "POST", "/g", ml(h11, 10, false, false, len(ph), 10, 10, 7, FlagGap, "abc")),
				rq(2, "GET", "/n", ml(h11, -1, false, false, len(g), 0, 0, 0, FlagResynced, "")),
				rs(1, 200, "OK", "/g", 0, ml(h11, 1, false, false, len(s1h), 1, 1, 0, 0, "1")),
				rs(2, 200, "OK", "/n", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "2")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 || r.stats.SkippedBytes != uint64(len("ost: example.com\r\n\r\n")) {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		c1 := "GET /1 HTTP/1.1\r\nHost: a\r\nUser-"
		c2 := "Agent: foo\r\n\r\n"
		g2 := get("/2")
		add(tcase{name: "gap-in-headers", client: []piece{{data: c1}, {gap: 20, data: c2 + g2}}, server: bytesOf(s1 + s2),
			want: []string{
				rq(1, "GET", "/1", ml(h11, -1, false, false, len(c1), 0, 0, 0, FlagIncomplete|FlagGap, "")),
				rq(2, "GET", "/2", ml(h11, -1, false, false, len(g2), 0, 0, 0, FlagResynced, "")),
				rs(1, 200, "OK", "/1", 0, ml(h11, 1, false, false, len(s1h), 1, 1, 0, 0, "1")),
				rs(2, 200, "OK", "/2", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "2")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 || r.stats.SkippedBytes != uint64(len(c2)) || r.stats.Incomplete != 1 {
					t.Errorf("stats %+v", r.stats)
				}
				if got := r.rec.hdrs["1 req"]; got != "Host: a\n" {
					t.Errorf("headers kept %q", got)
				}
			}})
		gg := get("/c")
		sh := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		add(tcase{name: "gap-in-chunk", client: bytesOf(gg + g), server: []piece{{data: sh + "a\r\n01234"}, {gap: 3, data: "89\r\n0\r\n\r\n" + s2}},
			want: []string{
				rq(1, "GET", "/c", ml(h11, -1, false, false, len(gg), 0, 0, 0, 0, "")),
				rq(2, "GET", "/n", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/c", 0, ml(h11, -1, true, false, len(sh), len("a\r\n0123456789\r\n0\r\n\r\n"), 10, 3, FlagGap, "0123489")),
				rs(2, 200, "OK", "/n", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, 0, "2")),
			}})
		add(tcase{name: "gap-across-chunks", client: bytesOf(gg + g), server: []piece{{data: sh + "a\r\n01234"}, {gap: 10, data: "\r\n0\r\n\r\n" + s2}},
			want: []string{
				rq(1, "GET", "/c", ml(h11, -1, false, false, len(gg), 0, 0, 0, 0, "")),
				rq(2, "GET", "/n", ml(h11, -1, false, false, len(g), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/c", 0, ml(h11, -1, true, false, len(sh), len("a\r\n0123456789"), 10, 5, FlagGap|FlagIncomplete, "01234")),
				rs(2, 200, "OK", "/n", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, FlagResynced, "2")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 || r.stats.SkippedBytes != 7 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		// a gap in a close-delimited body is skipped
		sc := "HTTP/1.0 200 OK\r\n\r\n"
		g10 := "GET / HTTP/1.0\r\n\r\n"
		add(tcase{name: "gap-close-delimited", client: bytesOf(g10), server: []piece{{data: sc + "abc"}, {gap: 100, data: "xyz"}}, reason: reassembly.ReasonFIN,
			want: []string{
				rq(1, "GET", "/", ml(h10, -1, false, true, len(g10), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/", 0, ml(h10, -1, false, true, len(sc), 106, 106, 100, FlagGap, "abcxyz")),
			}})
	}
	// --- garbage
	for _, g := range []struct{ name, c, s string }{
		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n", "\x16\x03\x03\x00\x4a\x02"},
		{"ssh", "SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_8.9\r\n"},
		{"smtp-server-first", "", "220 mail.example.com ESMTP\r\n"},
		{"helo", "HELO x\r\n", ""},
		{"lowercase-method", "get / HTTP/1.1\r\n\r\n", ""},
		{"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ""},
		{"bad-version", "GET / HTTP/2\r\n\r\n", ""},
	} {
		add(tcase{name: "not-http-" + g.name, client: bytesOf(g.c), server: bytesOf(g.s),
			check: func(t *testing.T, r result) {
				if r.stats.NonHTTP != 1 || r.stats.HTTPConns != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	{
		g1, g2 := get("/1"), get("/2")
		s1h, s1 := ok("ok")
		s2h, s2 := ok("z")
		add(tcase{name: "garbage-between", client: bytesOf(g1 + "\x00\x01junk\r\n" + g2), server: bytesOf(s1 + "junkjunk\r\n" + s2),
			want: []string{
				rq(1, "GET", "/1", ml(h11, -1, false, false, len(g1), 0, 0, 0, 0, "")),
				rq(2, "GET", "/2", ml(h11, -1, false, false, len(g2), 0, 0, 0, FlagResynced, "")),
				rs(1, 200, "OK", "/1", 0, ml(h11, 2, false, false, len(s1h), 2, 2, 0, 0, "ok")),
				rs(2, 200, "OK", "/2", 0, ml(h11, 1, false, false, len(s2h), 1, 1, 0, FlagResynced, "z")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 2 || r.stats.ParseErrors != 2 || r.stats.SkippedBytes != 8+10 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	// --- orphans and unanswered requests
	{
		sh, s := ok("x")
		add(tcase{name: "orphan-response", server: bytesOf(s),
			want: []string{rs(1, 200, "OK", "-", 0, ml(h11, 1, false, false, len(sh), 1, 1, 0, FlagNoRequest, "x"))},
			check: func(t *testing.T, r result) {
				if r.stats.NoRequest != 1 || r.stats.HTTPConns != 1 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		g1, g2 := get("/a"), get("/b")
		add(tcase{name: "no-response", client: bytesOf(g1 + g2), server: bytesOf(s),
			want: []string{
				rq(1, "GET", "/a", ml(h11, -1, false, false, len(g1), 0, 0, 0, 0, "")),
				rq(2, "GET", "/b", ml(h11, -1, false, false, len(g2), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/a", 0, ml(h11, 1, false, false, len(sh), 1, 1, 0, 0, "x")),
				none(2, "/b", FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if r.stats.NoResponse != 1 || r.stats.Transactions != 2 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		ph := "POST /big HTTP/1.1\r\nContent-Length: 100\r\n\r\n"
		add(tcase{name: "request-cut-by-close", client: bytesOf(ph + "0123456789"),
			want: []string{
				rq(1, "POST", "/big", ml(h11, 100, false, false, len(ph), 10, 10, 0, FlagIncomplete, "0123456789")),
				none(1, "/big", FlagIncomplete|FlagNoResponse),
			}})
		sh2 := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		add(tcase{name: "response-cut-by-close", client: bytesOf(g1), server: bytesOf(sh2 + "abc"), reason: reassembly.ReasonFIN,
			want: []string{
				rq(1, "GET", "/a", ml(h11, -1, false, false, len(g1), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/a", 0, ml(h11, 100, false, false, len(sh2), 3, 3, 0, FlagIncomplete, "abc")),
			}})
	}
	// --- pipeline overflow: pairing stays in step
	{
		c := []string{get("/1"), get("/2"), get("/3"), get("/4")}
		var s string
		var sh []string
		for _, b := range []string{"1", "2", "3", "4"} {
			h, all := ok(b)
			sh = append(sh, h)
			s += all
		}
		add(tcase{name: "overflow", cfg: Config{MaxPipeline: 2}, client: bytesOf(strings.Join(c, "")), server: bytesOf(s),
			want: []string{
				rq(1, "GET", "/1", ml(h11, -1, false, false, len(c[0]), 0, 0, 0, 0, "")),
				rq(2, "GET", "/2", ml(h11, -1, false, false, len(c[1]), 0, 0, 0, 0, "")),
				rq(3, "GET", "/3", ml(h11, -1, false, false, len(c[2]), 0, 0, 0, FlagOverflow, "")),
				none(3, "/3", FlagOverflow|FlagNoResponse),
				rq(4, "GET", "/4", ml(h11, -1, false, false, len(c[3]), 0, 0, 0, FlagOverflow, "")),
				none(4, "/4", FlagOverflow|FlagNoResponse),
				rs(1, 200, "OK", "/1", 0, ml(h11, 1, false, false, len(sh[0]), 1, 1, 0, 0, "1")),
				rs(2, 200, "OK", "/2", 0, ml(h11, 1, false, false, len(sh[1]), 1, 1, 0, 0, "2")),
				rs(3, 200, "OK", "-", 0, ml(h11, 1, false, false, len(sh[2]), 1, 1, 0, FlagNoRequest, "3")),
				rs(4, 200, "OK", "-", 0, ml(h11, 1, false, false, len(sh[3]), 1, 1, 0, FlagNoRequest, "4")),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Overflows != 2 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	// --- header limits
	{
		ph := "POST /l HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 2\r\n\r\n"
		add(tcase{name: "max-headers", cfg: Config{MaxHeaders: 2}, client: bytesOf(ph + "xy"),
			want: []string{
				rq(1, "POST", "/l", ml(h11, 2, false, false, len(ph), 2, 2, 0, FlagHeaderLimit, "xy")),
				none(1, "/l", FlagHeaderLimit|FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if r.stats.HeaderLimits != 1 || r.rec.hdrs["1 req"] != "A: 1\nB: 2\n" {
					t.Errorf("stats %+v headers %q", r.stats, r.rec.hdrs["1 req"])
				}
			}})
		long := "X-Long: " + strings.Repeat("v", 100) + "\r\n"
		ph2 := "GET /long HTTP/1.1\r\nA: 1\r\n" + long + "B: 2\r\n\r\n"
		add(tcase{name: "long-header-line", cfg: Config{MaxLineLen: 64}, client: bytesOf(ph2),
			want: []string{
				rq(1, "GET", "/long", ml(h11, -1, false, false, len(ph2), 0, 0, 0, FlagHeaderLimit, "")),
				none(1, "/long", FlagHeaderLimit|FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if r.stats.HeaderLimits != 1 || r.rec.hdrs["1 req"] != "A: 1\nB: 2\n" {
					t.Errorf("stats %+v headers %q", r.stats, r.rec.hdrs["1 req"])
				}
			}})
		big := "GET /big HTTP/1.1\r\n" + strings.Repeat("X-Pad: 0123456789012345678901234567890123456789\r\n", 6) + "\r\n"
		g := get("/small")
		add(tcase{name: "max-header-bytes", cfg: Config{MaxLineLen: 64, MaxHeaderBytes: 200}, client: bytesOf(big + g),
			want: []string{
				rq(1, "GET", "/big", ml(h11, -1, false, false, 201, 0, 0, 0, FlagHeaderLimit|FlagIncomplete, "")),
				rq(2, "GET", "/small", ml(h11, -1, false, false, len(g), 0, 0, 0, FlagResynced, "")),
				none(1, "/big", FlagHeaderLimit|FlagIncomplete|FlagNoResponse),
				none(2, "/small", FlagResynced|FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if r.stats.HeaderLimits != 1 || r.stats.Resyncs != 1 || r.stats.SkippedBytes != uint64(len(big)-201) {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	// --- tolerated oddities
	{
		c := "GET /fold HTTP/1.1\r\nX-Long: a\r\n  b\r\n\tc\r\nHost:h\r\n\r\n"
		add(tcase{name: "obs-fold", client: bytesOf(c),
			want: []string{
				rq(1, "GET", "/fold", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				none(1, "/fold", FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if got := r.rec.hdrs["1 req"]; got != "X-Long: a b c\nHost: h\n" {
					t.Errorf("headers %q", got)
				}
			}})
		g := "\r\nGET /lf HTTP/1.1\nHost: x\n\n"
		s := "HTTP/1.1 200 OK\nContent-Length: 2\n\nok\r\n"
		s2 := "HTTP/1.1 200\r\n\r\n"
		add(tcase{name: "bare-lf-and-blank-lines", client: bytesOf(g + "\r\n" + get("/2")), server: bytesOf(s + s2), reason: reassembly.ReasonFIN,
			want: []string{
				rq(1, "GET", "/lf", ml(h11, -1, false, false, len(g)-2, 0, 0, 0, 0, "")),
				rq(2, "GET", "/2", ml(h11, -1, false, false, len(get("/2")), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/lf", 0, ml(h11, 2, false, false, len(s)-4, 2, 2, 0, 0, "ok")),
				rs(2, 200, "", "/2", 0, ml(h11, -1, false, false, len(s2), 0, 0, 0, 0, "")),
			}})
		b := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
		pc := "POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"
		g2 := get("/y")
		add(tcase{name: "bad-content-length", client: bytesOf(pc + g2), server: bytesOf(b + "until close"), reason: reassembly.ReasonFIN,
			want: []string{
				rq(1, "POST", "/x", ml(h11, -1, false, false, len(pc), 0, 0, 0, FlagBadFraming, "")),
				rq(2, "GET", "/y", ml(h11, -1, false, false, len(g2), 0, 0, 0, 0, "")),
				rs(1, 200, "OK", "/x", 0, ml(h11, -1, false, false, len(b), 11, 11, 0, FlagBadFraming, "until close")),
				none(2, "/y", FlagNoResponse),
			}})
		a := "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		add(tcase{name: "http10-keep-alive", client: bytesOf(a),
			want: []string{
				rq(1, "GET", "/k", ml(h10, -1, false, false, len(a), 0, 0, 0, 0, "")),
				none(1, "/k", FlagNoResponse),
			}})
		m := "PROPFIND /dav HTTP/1.1\r\nDepth: 1\r\n\r\n"
		x := "FROBNICATE /x HTTP/1.1\r\n\r\n"
		add(tcase{name: "methods", client: bytesOf(m + x),
			want: []string{
				rq(1, "PROPFIND", "/dav", ml(h11, -1, false, false, len(m), 0, 0, 0, 0, "")),
				rq(2, "FROBNICATE", "/x", ml(h11, -1, false, false, len(x), 0, 0, 0, 0, "")),
				none(1, "/dav", FlagNoResponse),
				none(2, "/x", FlagNoResponse),
			}})
	}
	// --- client bytes held after CONNECT with no answer: too many, a gap,
	// the close
	{
		c := "CONNECT example.com:443 HTTP/1.1\r\n\r\n"
		junk := strings.Repeat("\x17\x03\x03junk", 30)
		add(tcase{name: "hold-overflow", cfg: Config{MaxHold: 128}, client: bytesOf(c + junk),
			want: []string{
				rq(1, "CONNECT", "example.com:443", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				none(1, "example.com:443", FlagNoResponse),
			},
			check: func(t *testing.T, r result) {
				if r.stats.Resyncs != 1 || r.stats.SkippedBytes != uint64(len(junk)) {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		ga, gb := get("/a"), get("/b")
		add(tcase{name: "hold-gap-close", client: []piece{{data: c + ga}, {gap: 10, data: "xx" + gb}},
			want: []string{
				rq(1, "CONNECT", "example.com:443", ml(h11, -1, false, false, len(c), 0, 0, 0, 0, "")),
				rq(2, "GET", "/a", ml(h11, -1, false, false, len(ga), 0, 0, 0, FlagResynced, "")),
				rq(3, "GET", "/b", ml(h11, -1, false, false, len(gb), 0, 0, 0, FlagResynced, "")),
				none(1, "example.com:443", FlagNoResponse),
				none(2, "/a", FlagResynced|FlagNoResponse),
				none(3, "/b", FlagResynced|FlagNoResponse),
			}})
	}
	// --- picked up midstream: the first data comes after a gap
	{
		g := get("/mid")
		s := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		add(tcase{name: "midstream", client: []piece{{gap: 100, data: "tail of a body\r\n" + g}}, server: []piece{{gap: 50, data: "<html>\n" + s}},
			want: []string{
				rq(1, "GET", "/mid", ml(h11, -1, false, false, len(g), 0, 0, 0, FlagResynced, "")),
				rs(1, 200, "OK", "/mid", 0, ml(h11, 0, false, false, len(s), 0, 0, 0, FlagResynced, "")),
			},
			check: func(t *testing.T, r result) {
				// The client side found its request while sniffing; the
				// server side then starts with a gap on an HTTP
				// connection: one resync, "<html>\n" skipped.
				if r.stats.HTTPConns != 1 || r.stats.Resyncs != 1 || r.stats.SkippedBytes != 7 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
		add(tcase{name: "midstream-not-http", client: []piece{{gap: 100, data: strings.Repeat("\x17\x03\x03garbage", 3000)}},
			check: func(t *testing.T, r result) {
				if r.stats.NonHTTP != 1 || r.stats.HTTPConns != 0 {
					t.Errorf("stats %+v", r.stats)
				}
			}})
	}
	return cs
}

func TestParserCases(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			ref := runConn(t, tc.cfg, tc.client, tc.server, whole, tc.reason)
			sameEvents(t, "whole", ref.events, tc.want)
			if tc.check != nil {
				tc.check(t, ref)
			}
			// Any split gives the same transactions and counters.
			one := runConn(t, tc.cfg, tc.client, tc.server, ones, tc.reason)
			sameEvents(t, "1-byte pieces", one.events, ref.events)
			if one.stats != ref.stats {
				t.Errorf("1-byte stats\n %+v\nwant\n %+v", one.stats, ref.stats)
			}
			rng := rand.New(rand.NewSource(1))
			for i := 0; i < 20; i++ {
				r := runConn(t, tc.cfg, tc.client, tc.server, randCut(rng), tc.reason)
				sameEvents(t, fmt.Sprintf("random pieces #%d", i), r.events, ref.events)
				if r.stats != ref.stats {
					t.Errorf("random #%d stats\n %+v\nwant\n %+v", i, r.stats, ref.stats)
				}
			}
		})
	}
}

// The server answers before the request body is complete: the response is
// held so that Request still comes first.
func TestEarlyResponse(t *testing.T) {
	ph := "POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\n"
	s := "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"
	steps := []step{
		{reassembly.FromClient, bytesOf(ph + "abc")},
		{reassembly.FromServer, bytesOf(s)},
		{reassembly.FromClient, bytesOf("def")},
	}
	want := []string{
		rq(1, "POST", "/up", ml(h11, 6, false, false, len(ph), 6, 6, 0, 0, "abcdef")),
		rs(1, 413, "Payload Too Large", "/up", 0, ml(h11, 0, false, false, len(s), 0, 0, 0, 0, "")),
	}
	for _, cut := range []func() int{whole, ones} {
		sameEvents(t, "early", runSteps(t, Config{}, steps, cut, reassembly.ReasonFIN).events, want)
	}
}

// 100 Continue interleaved the way it happens on the wire.
func TestContinueInterleaved(t *testing.T) {
	ph := "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
	s2 := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	steps := []step{
		{reassembly.FromClient, bytesOf(ph)},
		{reassembly.FromServer, bytesOf("HTTP/1.1 100 Continue\r\n\r\n")},
		{reassembly.FromClient, bytesOf("data")},
		{reassembly.FromServer, bytesOf(s2)},
	}
	want := []string{
		`interim d=1 100 "Continue" to=/f`,
		rq(1, "PUT", "/f", ml(h11, 4, false, false, len(ph), 4, 4, 0, 0, "data")),
		rs(1, 200, "OK", "/f", 100, ml(h11, 0, false, false, len(s2), 0, 0, 0, 0, "")),
	}
	for _, cut := range []func() int{whole, ones} {
		sameEvents(t, "100-continue", runSteps(t, Config{}, steps, cut, reassembly.ReasonFIN).events, want)
	}
}

// Start and End are the TS of the Data carrying the first and last byte.
func TestTimestamps(t *testing.T) {
	rec := newRecorder(t)
	rec.ts = true
	p := NewParser(Config{}, rec)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	feed := func(d reassembly.Dir, ts int64, b string) {
		p.Feed(s, c, d, reassembly.Data{Bytes: []byte(b), TS: ts})
	}
	feed(reassembly.FromClient, 10, "GET /t HT")
	feed(reassembly.FromClient, 11, "TP/1.1\r\nHost: h\r\n")
	feed(reassembly.FromClient, 12, "\r\n")
	feed(reassembly.FromServer, 20, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
	feed(reassembly.FromServer, 21, "cd")
	p.Close(s, c, reassembly.ReasonFIN)
	if len(rec.events) != 2 || !strings.HasSuffix(rec.events[0], "ts=10-12") || !strings.HasSuffix(rec.events[1], "ts=20-21") {
		t.Errorf("events %q", rec.events)
	}
}

// The Handler adapter keeps state in Conn.Ctx and clears it at close.
func TestHandlerAdapter(t *testing.T) {
	var got []string
	h := NewHandler(Config{}, Funcs{
		OnRequest: func(req *Request, c *reassembly.Conn) { got = append(got, req.Method+" "+req.URI) },
		OnResponse: func(res *Response, req *Request, c *reassembly.Conn) {
			got = append(got, fmt.Sprintf("%d %s %s", res.StatusCode, req.URI, req.Header.Get("host")))
		},
	})
	var rh reassembly.Handler = h
	c := &reassembly.Conn{}
	rh.Opened(c)
	rh.Sent(c, reassembly.Data{Bytes: []byte(get("/x"))})
	rh.Received(c, reassembly.Data{Bytes: []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")})
	if _, ok := c.Ctx.(*ConnState); !ok {
		t.Fatalf("Ctx %T", c.Ctx)
	}
	rh.Closed(c, reassembly.ReasonFIN)
	if c.Ctx != nil {
		t.Errorf("Ctx not cleared")
	}
	if strings.Join(got, ";") != "GET /x;404 /x example.com" {
		t.Errorf("got %q", got)
	}
	if st := h.Stats(); st.Conns != 1 || st.Transactions != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHeaderAPI(t *testing.T) {
	var h Header
	h.add([]byte("Content-Type"), []byte("text/html"))
	h.add([]byte("Set-Cookie"), []byte("a=1"))
	h.add([]byte("set-cookie"), []byte("b=2"))
	h.add([]byte("X-Empty"), nil)
	if v := h.Value("content-type"); v != "text/html" {
		t.Errorf("Value %q", v)
	}
	if h.Get("x-empty") == nil || h.Get("missing") != nil || !h.Has("X-EMPTY") {
		t.Errorf("Get/Has on empty and missing fields")
	}
	var all []string
	h.Values("SET-COOKIE", func(v []byte) { all = append(all, string(v)) })
	if strings.Join(all, ",") != "a=1,b=2" {
		t.Errorf("Values %q", all)
	}
	c := h.Clone()
	h.reset()
	h.add([]byte("Overwrite"), []byte("zzzzzzzzzzzzzzzzzzzzzzzzzzzz"))
	if c.Len() != 4 || c.Value("Content-Type") != "text/html" {
		t.Errorf("clone changed: %d %q", c.Len(), c.Value("Content-Type"))
	}
	if FlagGap.String() != "gap" || (FlagIncomplete|FlagTunnel).String() != "incomplete|tunnel" {
		t.Errorf("flag names %v %v", FlagGap, FlagIncomplete|FlagTunnel)
	}
}

// Clones survive the recycling of the parser's objects.
func TestClone(t *testing.T) {
	var reqs []*Request
	var ress []*Response
	p := NewParser(Config{}, Funcs{
		OnResponse: func(res *Response, req *Request, c *reassembly.Conn) {
			reqs = append(reqs, req.Clone())
			ress = append(ress, res.Clone())
		},
	})
	s := p.NewConnState()
	c := &reassembly.Conn{}
	for i := 0; i < 3; i++ {
		p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte(fmt.Sprintf("GET /%d HTTP/1.1\r\nX-N: %d\r\n\r\n", i, i))})
		p.Feed(s, c, reassembly.FromServer, reassembly.Data{Bytes: []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nX-N: %d\r\nContent-Length: 0\r\n\r\n", i))})
	}
	p.Close(s, c, reassembly.ReasonFIN)
	for i := 0; i < 3; i++ {
		if reqs[i].URI != fmt.Sprintf("/%d", i) || reqs[i].Header.Value("x-n") != fmt.Sprint(i) || ress[i].Header.Value("X-N") != fmt.Sprint(i) || ress[i].Depth != i+1 {
			t.Errorf("clone %d: %s %q %q d=%d", i, reqs[i].URI, reqs[i].Header.Value("x-n"), ress[i].Header.Value("X-N"), ress[i].Depth)
		}
		if !reqs[i].IsRequest() || reqs[i].AsRequest() != reqs[i] || ress[i].AsResponse() != ress[i] || ress[i].IsRequest() {
			t.Errorf("clone %d owner pointers", i)
		}
	}
}

func TestConnStateAccessors(t *testing.T) {
	p := NewParser(Config{}, nil)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	if s.IsHTTP() || s.Ignored() || s.Tunnel() {
		t.Fatal("fresh state")
	}
	p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte("CONNECT h:443 HTTP/1.1\r\n\r\nabc")})
	p.Feed(s, c, reassembly.FromServer, reassembly.Data{Bytes: []byte("HTTP/1.1 200 OK\r\n\r\nhello")})
	p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte("more"), Gap: 5})
	if !s.IsHTTP() || !s.Tunnel() || s.TunnelBytes(reassembly.FromClient) != 7 || s.TunnelBytes(reassembly.FromServer) != 5 || s.Depth() != 1 {
		t.Errorf("tunnel state: %v %v %d %d", s.IsHTTP(), s.Tunnel(), s.TunnelBytes(reassembly.FromClient), s.TunnelBytes(reassembly.FromServer))
	}
	p.Close(s, c, reassembly.ReasonFIN)

	s = p.NewConnState()
	p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte("\x16\x03\x01")})
	if !s.Ignored() || s.IsHTTP() {
		t.Errorf("TLS not ignored")
	}
	p.Feed(s, c, reassembly.FromClient, reassembly.Data{Bytes: []byte(get("/ignored"))})
	p.Close(s, c, reassembly.ReasonFIN)
	if st := p.Stats(); st.Conns != 2 || st.NonHTTP != 1 || st.HTTPConns != 1 || st.Requests != 1 || st.Tunnels != 1 || st.TunnelBytes != 12 {
		t.Errorf("stats %+v", st)
	}
}
