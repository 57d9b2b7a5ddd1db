package httplog

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/segtest"
	"github.com/fastsniff/fastsniff/reassembly"
)

const t0 = 1_700_000_000_000_000_000 // 2023-11-14T22:13:20Z

var (
	cli4 = netip.MustParseAddrPort("192.168.1.10:51000")
	srv4 = netip.MustParseAddrPort("93.184.216.34:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::10]:51000")
	srv6 = netip.MustParseAddrPort("[2001:db8::1]:8080")
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ids records the ID of every connection, in order of opening.
type ids struct{ v []uint64 }

func (x *ids) handler() reassembly.Handler {
	return reassembly.Funcs{OnOpen: func(c *reassembly.Conn) { x.v = append(x.v, c.ID()) }}
}

// run feeds one conversation through a Table with a Log's handler and
// returns the log's lines and the connection's uid.
func run(t *testing.T, opt Options, client, server netip.AddrPort, conv func(c *segtest.Conv)) ([]string, string) {
	t.Helper()
	var out bytes.Buffer
	log, err := New(&out, opt)
	if err != nil {
		t.Fatal(err)
	}
	var got ids
	tab := reassembly.NewTable(reassembly.Config{}, reassembly.Multi(got.handler(), log.Handler()))
	c := &segtest.Conv{T: tab, Client: client, Server: server, TS: t0}
	conv(c)
	tab.Flush(reassembly.ReasonFlush)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	uid := ""
	if len(got.v) > 0 {
		uid = connlog.UID(got.v[0])
	}
	s := out.String()
	if s == "" {
		return nil, uid
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("log does not end with a newline: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("not UTF-8: %q", l)
		}
	}
	return lines, uid
}

const (
	psh = segtest.ACK | segtest.PSH
	ack = segtest.ACK
)

// TestLines checks whole lines: keep-alive with chunked, Content-Length,
// HEAD, interim, POST body, a request left without a response.
func TestLines(t *testing.T) {
	lines, uid := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
		c.Handshake()
		c.C(psh, "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test/1.0\r\nReferer: http://example.com/\r\n\r\n")
		c.S(psh, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
		c.S(psh, "6\r\n world\r\n0\r\n\r\n")
		c.C(psh, "POST /form HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n")
		c.S(psh, "HTTP/1.1 100 Continue\r\n\r\n")
		c.C(psh, "a=1&b=2")
		c.S(psh, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
		c.C(psh, "HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		c.S(psh, "HTTP/1.0 200 OK\r\nContent-Length: 1000\r\nConnection: keep-alive\r\n\r\n")
		c.C(psh, "GET /never HTTP/1.1\r\nHost: example.com\r\n\r\n")
		c.S(ack, "")
		c.Close()
	})
	pre := `{"ts":%s,"uid":"` + uid + `","id.orig_h":"192.168.1.10","id.orig_p":51000,"id.resp_h":"93.184.216.34","id.resp_p":80,"trans_depth":%d,`
	want := []string{
		fmt.Sprintf(pre, "1700000000.004000", 1) + `"method":"GET","host":"example.com","uri":"/index.html","referrer":"http://example.com/","version":"1.1","user_agent":"test/1.0","request_body_len":0,"response_body_len":11,"status_code":200,"status_msg":"OK","content_type":"text/html","response_ts":1700000000.006000}`,
		fmt.Sprintf(pre, "1700000000.007000", 2) + `"method":"POST","host":"example.com","uri":"/form","version":"1.1","request_content_type":"application/x-www-form-urlencoded","request_body_len":7,"response_body_len":2,"status_code":201,"status_msg":"Created","info_code":100,"response_ts":1700000000.010000}`,
		fmt.Sprintf(pre, "1700000000.011000", 3) + `"method":"HEAD","uri":"/x","version":"1.0","request_body_len":0,"response_body_len":0,"status_code":200,"status_msg":"OK","response_ts":1700000000.012000}`,
		fmt.Sprintf(pre, "1700000000.013000", 4) + `"method":"GET","host":"example.com","uri":"/never","version":"1.1","request_body_len":0,"response_body_len":0,"no_response":true}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestFlags: gaps in a body and in headers, an orphan response, a tunnel,
// IPv6, escaping of raw bytes.
func TestFlags(t *testing.T) {
	t.Run("gap in body", func(t *testing.T) {
		lines, _ := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789")
			c.LoseS(10)
			c.S(psh, "0123456789")
			c.C(ack, "")
			c.Close()
		})
		if len(lines) != 1 || !strings.HasSuffix(lines[0], `"request_body_len":0,"response_body_len":30,"status_code":200,"status_msg":"OK","response_ts":1700000000.006000,"gap":true,"gap_bytes":10}`) {
			t.Errorf("%q", lines)
		}
	})
	t.Run("gap in headers", func(t *testing.T) {
		lines, _ := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n")
			c.LoseC(10)
			c.C(psh, "\r\nGET /c HTTP/1.1\r\n")
			c.S(ack, "")
			c.C(psh, "\r\n")
			c.S(ack, "") // a later ACK confirms the hole: a gap
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			c.C(ack, "")
			c.Close()
		})
		want := []string{
			`"trans_depth":1,"method":"GET","host":"h","uri":"/a",`,
			`"trans_depth":2,"method":"GET","uri":"/b","version":"1.1","request_body_len":0,"response_body_len":0,"status_code":200,"status_msg":"OK","response_ts":1700000000.009000,"incomplete":true,"gap":true}`,
			`"trans_depth":3,"method":"GET","uri":"/c","version":"1.1","request_body_len":0,"response_body_len":0,"status_code":404,"status_msg":"Not Found","response_ts":1700000000.009000,"resynced":true}`,
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines: %q", len(lines), lines)
		}
		for i := range want {
			if !strings.Contains(lines[i], want[i]) {
				t.Errorf("line %d: %s\nwant ...%s", i, lines[i], want[i])
			}
		}
	})
	t.Run("orphan response", func(t *testing.T) {
		lines, uid := run(t, Options{}, cli6, srv6, func(c *segtest.Conv) {
			c.CSeq, c.SSeq = 100, 900
			c.S(psh, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
			c.C(ack, "")
		})
		want := `{"ts":1700000000.001000,"uid":"` + uid + `","id.orig_h":"2001:db8::10","id.orig_p":51000,"id.resp_h":"2001:db8::1","id.resp_p":8080,"trans_depth":1,"version":"1.1","request_body_len":0,"response_body_len":0,"status_code":304,"status_msg":"Not Modified","response_ts":1700000000.001000,"no_request":true}`
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("got  %q\nwant %s", lines, want)
		}
	})
	t.Run("tunnel", func(t *testing.T) {
		lines, _ := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
			c.S(psh, "HTTP/1.1 200 Connection established\r\n\r\n")
			c.C(psh, "\x16\x03\x01 binary tls")
			c.S(psh, "\x16\x03\x03 more")
			c.Close()
		})
		if len(lines) != 1 || !strings.HasSuffix(lines[0], `"method":"CONNECT","host":"example.com:443","uri":"example.com:443","version":"1.1","request_body_len":0,"response_body_len":0,"status_code":200,"status_msg":"Connection established","response_ts":1700000000.005000,"tunnel":true}`) {
			t.Errorf("%q", lines)
		}
	})
	t.Run("escaping", func(t *testing.T) {
		lines, _ := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "GET /caf\xe9?q=\"a\\b\"&x=\xe2\x82\xac HTTP/1.1\r\nHost: h\x01st\r\nUser-Agent: \xff\xfeUA\tx\r\n\r\n")
			c.S(psh, "HTTP/1.1 200 \xc3\xa7a va\r\nContent-Length: 0\r\n\r\n")
			c.C(ack, "")
			c.Close()
		})
		want := `"method":"GET","host":"h\u0001st","uri":"/caf\ufffd?q=\"a\\b\"\u0026x=€","version":"1.1","user_agent":"\ufffd\ufffdUA\tx","request_body_len":0,"response_body_len":0,"status_code":200,"status_msg":"ça va",`
		// connlog.AppendString leaves & and non-ASCII valid UTF-8 as is
		want = strings.Replace(want, `\u0026`, `&`, 1)
		if len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Fatalf("got  %q\nwant ...%s", lines, want)
		}
		var v struct {
			URI string `json:"uri"`
			UA  string `json:"user_agent"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &v); err != nil || v.URI != "/caf\uFFFD?q=\"a\\b\"&x=€" || v.UA != "\uFFFD\uFFFDUA\tx" {
			t.Errorf("decoded %+v %v", v, err)
		}
	})
	t.Run("not http", func(t *testing.T) {
		lines, _ := run(t, Options{}, cli4, srv4, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "\x00\x1c\x12\x34\x01\x00 dns over tcp")
			c.S(psh, "\x00\x2c\x12\x34\x81\x80 answer")
			c.Close()
		})
		if len(lines) != 0 {
			t.Errorf("%q", lines)
		}
	})
}

// bodiesRun is run with a bodies directory; it returns the lines parsed.
func bodiesRun(t *testing.T, opt Options, conv func(c *segtest.Conv)) ([]map[string]any, string) {
	t.Helper()
	if opt.BodiesDir == "" {
		opt.BodiesDir = t.TempDir()
	}
	lines, _ := run(t, opt, cli4, srv4, conv)
	var out []map[string]any
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out, opt.BodiesDir
}

func readBody(t *testing.T, dir string, v any) []byte {
	t.Helper()
	name, ok := v.(string)
	if !ok || name == "" || strings.ContainsAny(name, "/\\") {
		t.Fatalf("bad body file name %v", v)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000
	t.Run("names, holes, cap", func(t *testing.T) {
		recs, dir := bodiesRun(t, Options{BodyMax: 10000}, func(c *segtest.Conv) {
			c.Handshake()
			c.C(psh, "POST /up HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n")
			c.C(psh, "0\r\n\r\n")
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Type: IMAGE/PNG; x=y\r\nContent-Length: 20\r\n\r\n01234")
			c.LoseS(5)
			c.S(psh, "abcde")
			c.LoseS(5) // trailing gap: the next message's bytes ACKed after it
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Type: text/weird\r\nContent-Length: 16000\r\n\r\n")
			c.C(psh, "GET /big HTTP/1.1\r\n\r\n")
			for i := 0; i < len(big); i += 1000 {
				c.SB(psh, big[i:i+1000])
			}
			c.C(ack, "")
			c.Close()
		})
		if len(recs) != 2 {
			t.Fatalf("%d lines: %v", len(recs), recs)
		}
		uid := recs[0]["uid"].(string)
		if got := readBody(t, dir, recs[0]["request_body_file"]); string(got) != "{}\n" {
			t.Errorf("request body %q", got)
		}
		res := readBody(t, dir, recs[0]["response_body_file"])
		if want := "01234\x00\x00\x00\x00\x00abcde\x00\x00\x00\x00\x00"; string(res) != want {
			t.Errorf("response body %q, want %q", res, want)
		}
		if recs[0]["request_body_file"] != uid+"-1-req.json" || recs[0]["response_body_file"] != uid+"-1-res.png" || recs[0]["gap_bytes"] != 10.0 {
			t.Errorf("line 1: %v", recs[0])
		}
		// the second response answers /big: trans_depth 2, no extension
		if recs[1]["response_body_file"] != uid+"-2-res" || recs[1]["response_body_truncated"] != true || recs[1]["response_body_len"] != 16000.0 {
			t.Errorf("line 2: %v", recs[1])
		}
		if got := readBody(t, dir, recs[1]["response_body_file"]); !bytes.Equal(got, big[:10000]) {
			t.Errorf("truncated body: %d bytes", len(got))
		}
		if names := listDir(t, dir); strings.Join(names, " ") != uid+"-1-req.json "+uid+"-1-res.png "+uid+"-2-res" {
			t.Errorf("files %v", names)
		}
	})
	t.Run("decompress", func(t *testing.T) {
		plain := bytes.Repeat([]byte("hello gzip world\n"), 500) // 8500
		var zl, raw bytes.Buffer
		zw := zlib.NewWriter(&zl)
		zw.Write(plain)
		zw.Close()
		fw, _ := flate.NewWriter(&raw, 5)
		fw.Write(plain)
		fw.Close()
		gzb := gz(plain)
		bomb := gz(make([]byte, 1<<20))
		recs, dir := bodiesRun(t, Options{Decompress: true, BodyMax: 100000}, func(c *segtest.Conv) {
			c.Handshake()
			for i, b := range [][]byte{gzb, zl.Bytes(), raw.Bytes(), bomb, []byte("not gzip at all")} {
				enc := "gzip"
				if i == 1 || i == 2 {
					enc = "deflate"
				}
				c.C(psh, fmt.Sprintf("GET /%d HTTP/1.1\r\n\r\n", i))
				c.S(psh, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n", enc, len(b)))
				c.SB(psh, b)
			}
			// a gap in a gzip body: kept raw
			c.C(psh, "GET /gap HTTP/1.1\r\n\r\n")
			c.S(psh, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: x-gzip\r\nContent-Length: %d\r\n\r\n", len(gzb)))
			c.SB(psh, gzb[:10])
			c.LoseS(10)
			c.SB(psh, gzb[20:])
			// brotli is stored as is
			c.C(psh, "GET /br HTTP/1.1\r\n\r\n")
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nxyz")
			c.C(ack, "")
			c.Close()
		})
		if len(recs) != 7 {
			t.Fatalf("%d lines", len(recs))
		}
		uid := recs[0]["uid"].(string)
		for i := 0; i < 3; i++ {
			r := recs[i]
			if r["response_body_file"] != fmt.Sprintf("%s-%d-res.txt", uid, i+1) || r["response_body_decoded_len"] != 8500.0 || r["response_body_decode_error"] != nil {
				t.Errorf("line %d: %v", i, r)
				continue
			}
			if got := readBody(t, dir, r["response_body_file"]); !bytes.Equal(got, plain) {
				t.Errorf("line %d: decoded %d bytes", i, len(got))
			}
		}
		if r := recs[3]; r["response_body_truncated"] != true || r["response_body_decoded_len"] != 100000.0 || len(readBody(t, dir, r["response_body_file"])) != 100000 {
			t.Errorf("bomb: %v", r)
		}
		if r := recs[4]; r["response_body_file"] != uid+"-5-res.txt.gz" || r["response_body_decode_error"] != "gzip: invalid header" || string(readBody(t, dir, r["response_body_file"])) != "not gzip at all" {
			t.Errorf("bad gzip: %v", r)
		}
		if r := recs[5]; r["response_body_file"] != uid+"-6-res.gz" || r["response_body_decode_error"] != "gap in the body" || r["gap_bytes"] != 10.0 {
			t.Errorf("gap: %v", r)
		}
		if r := recs[6]; r["response_body_file"] != uid+"-7-res.css.br" || r["response_body_decode_error"] != nil || r["response_body_decoded_len"] != nil {
			t.Errorf("br: %v", r)
		}
		want := []string{uid + "-1-res.txt", uid + "-2-res.txt", uid + "-3-res.txt", uid + "-4-res.txt", uid + "-5-res.txt.gz", uid + "-6-res.gz", uid + "-7-res.css.br"}
		if names := listDir(t, dir); strings.Join(names, " ") != strings.Join(want, " ") {
			t.Errorf("files %v", names)
		}
	})
	t.Run("orphan and held", func(t *testing.T) {
		recs, dir := bodiesRun(t, Options{}, func(c *segtest.Conv) {
			c.CSeq, c.SSeq = 100, 900
			// picked up midstream: a response without request
			c.S(psh, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
			c.C(ack, "")
			// the server answers before the request body is complete
			c.C(psh, "POST /p HTTP/1.1\r\nContent-Length: 6\r\n\r\nxyz")
			c.S(psh, "HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nnope")
			c.C(psh, "uvw")
			c.S(ack, "")
		})
		if len(recs) != 2 {
			t.Fatalf("%v", recs)
		}
		uid := recs[0]["uid"].(string)
		if recs[0]["response_body_file"] != uid+"-1-res-orphan" || string(readBody(t, dir, recs[0]["response_body_file"])) != "abc" || recs[0]["no_request"] != true {
			t.Errorf("orphan: %v", recs[0])
		}
		if recs[1]["request_body_file"] != uid+"-1-req" || string(readBody(t, dir, recs[1]["request_body_file"])) != "xyzuvw" ||
			recs[1]["response_body_file"] != uid+"-1-res" || string(readBody(t, dir, recs[1]["response_body_file"])) != "nope" {
			t.Errorf("held: %v", recs[1])
		}
	})
}

// TestNames checks that body file names only hold safe characters
// whatever the headers say.
func TestNames(t *testing.T) {
	for _, ct := range []string{"", "text/html", "../../etc/passwd", "image/png/../../x", "text/html\x00.sh", strings.Repeat("a", 500), "TEXT/HTML ; charset=x"} {
		for _, ce := range []string{"", "gzip", "../x", "gzip, br"} {
			var h http1.Header
			_ = h
			m := newMsg(t, ct, ce)
			name := string(appendBodyName(nil, 12345, m, encodingOf(m.ContentEncoding())))
			for _, c := range name {
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-') {
					t.Errorf("ct %q ce %q: name %q", ct, ce, name)
					break
				}
			}
			if strings.Contains(name, "..") || len(name) > maxNameLen {
				t.Errorf("ct %q ce %q: name %q", ct, ce, name)
			}
		}
	}
}

// newMsg parses a response with the given headers and returns a clone.
func newMsg(t *testing.T, ct, ce string) *http1.Message {
	var got *http1.Response
	p := http1.NewParser(http1.Config{}, http1.Funcs{OnResponse: func(res *http1.Response, req *http1.Request, c *reassembly.Conn) {
		got = res.Clone()
	}})
	s := p.NewConnState()
	hdr := "HTTP/1.1 200 OK\r\n"
	if ct != "" {
		hdr += "Content-Type: " + ct + "\r\n"
	}
	if ce != "" {
		hdr += "Content-Encoding: " + ce + "\r\n"
	}
	p.Feed(s, nil, reassembly.FromServer, reassembly.Data{Bytes: []byte(hdr + "Content-Length: 0\r\n\r\n")})
	p.Close(s, nil, reassembly.ReasonFIN)
	if got == nil {
		t.Fatalf("no response for %q %q", ct, ce)
	}
	got.Depth = 7
	return &got.Message
}

// TestWorkers runs several workers on one Log with bodies, reading Stats
// meanwhile (run with -race).
func TestWorkers(t *testing.T) {
	const workers, conns = 3, 60
	var out bytes.Buffer
	dir := t.TempDir()
	log, err := New(&out, Options{BodiesDir: dir, BufferSize: 2048, QueueLen: 2, MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = log.Stats()
			}
		}
	}()
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
				body := strings.Repeat(fmt.Sprint(i%10), 100*i+1)
				c.C(psh, fmt.Sprintf("GET /%d HTTP/1.1\r\n\r\n", i))
				c.S(psh, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
				c.C(ack, "")
				c.Close()
			}
			tab.Flush(reassembly.ReasonFlush)
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != workers*conns {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var v struct {
			URI  string `json:"uri"`
			Len  int    `json:"response_body_len"`
			File string `json:"response_body_file"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscanf(v.URI, "/%d", &i)
		b, err := os.ReadFile(filepath.Join(dir, v.File))
		if err != nil || v.Len != 100*i+1 || string(b) != strings.Repeat(fmt.Sprint(i%10), 100*i+1) {
			t.Errorf("%s: %d bytes, %v", l, len(b), err)
		}
	}
	st := log.Stats()
	if st.Logged != workers*conns || st.HTTP.Transactions != workers*conns || st.BodyFiles != workers*conns || st.HTTP.HTTPConns != workers*conns || st.Buffers == 0 {
		t.Errorf("stats %+v", st)
	}
	var sum uint64
	for i := 0; i < conns; i++ {
		sum += uint64(100*i + 1)
	}
	if st.BodyBytes != workers*sum || st.HTTP.BodyBytes != workers*sum {
		t.Errorf("body bytes %d / %d, want %d", st.BodyBytes, st.HTTP.BodyBytes, workers*sum)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

// TestErrors: Close returns the log's write error, and a body directory
// that cannot be written to.
func TestErrors(t *testing.T) {
	fw := &failWriter{}
	log, err := New(fw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab := reassembly.NewTable(reassembly.Config{}, log.Handler())
	c := &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.Handshake()
	c.C(psh, "GET / HTTP/1.0\r\n\r\n")
	c.S(psh, "HTTP/1.0 200 OK\r\n\r\nbody")
	c.Close()
	tab.Flush(reassembly.ReasonFlush)
	if err := log.Close(); err == nil || err.Error() != "disk full" || fw.n != 1 {
		t.Errorf("Close = %v after %d writes", err, fw.n)
	}

	dir := filepath.Join(t.TempDir(), "bodies")
	var out bytes.Buffer
	log, err = New(&out, Options{BodiesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// the directory becomes a file: creating a body fails (even as root)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tab = reassembly.NewTable(reassembly.Config{}, log.Handler())
	c = &segtest.Conv{T: tab, Client: cli4, Server: srv4, TS: t0}
	c.Handshake()
	c.C(psh, "GET / HTTP/1.0\r\n\r\n")
	c.S(psh, "HTTP/1.0 200 OK\r\n\r\nbody")
	c.Close()
	tab.Flush(reassembly.ReasonFlush)
	if err := log.Close(); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Close = %v", err)
	}
	if !strings.Contains(out.String(), `"uri":"/"`) {
		t.Errorf("the log stops with the bodies: %q", out.String())
	}
}

// TestNoBodySink checks that without bodies the parser gets no body sink
// and the Handler keeps its state only in its own Ctx slot.
func TestNoBodySink(t *testing.T) {
	log, err := New(&bytes.Buffer{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := log.Handler()
	if _, ok := any(callbacks{h}).(http1.BodySink); ok {
		t.Error("callbacks implement BodySink")
	}
	if _, ok := any(bodyCallbacks{callbacks{h}}).(http1.BodySink); !ok {
		t.Error("bodyCallbacks do not implement BodySink")
	}
	log.Close()
}

// TestReqHeaders: the one-pass lookup agrees with Header.Get (first field
// of a name, any case; empty but present is not absent).
func TestReqHeaders(t *testing.T) {
	for _, hdrs := range []string{
		"",
		"HOST: a\r\nhost: b\r\nReferer:\r\nuser-AGENT: x\r\nX-Host: y\r\nContent-type: t/p\r\n",
		"Hosts: no\r\nReferrer: no\r\nUser-Agent2: no\r\nContent-Types: no\r\nHost: yes\r\n",
		"content-type: 1\r\nContent-Type: 2\r\nreferer: r\r\n",
	} {
		var got *http1.Request
		p := http1.NewParser(http1.Config{}, http1.Funcs{OnRequest: func(req *http1.Request, c *reassembly.Conn) { got = req.Clone() }})
		s := p.NewConnState()
		p.Feed(s, nil, reassembly.FromClient, reassembly.Data{Bytes: []byte("GET / HTTP/1.1\r\n" + hdrs + "\r\n")})
		if got == nil {
			t.Fatalf("%q: no request", hdrs)
		}
		var h reqHeaders
		h.find(&got.Header)
		for _, c := range []struct {
			name string
			v    []byte
		}{{"Host", h.host}, {"Referer", h.referer}, {"User-Agent", h.ua}, {"Content-Type", h.ctype}} {
			want := got.Header.Get(c.name)
			if (want == nil) != (c.v == nil) || string(want) != string(c.v) {
				t.Errorf("%q: %s = %q, Get says %q", hdrs, c.name, c.v, want)
			}
		}
	}
}
