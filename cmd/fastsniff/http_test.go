package main

// --http-log and --http-bodies through run(): the seed dumps and the
// corpus's HTTP captures, checked against what tshark -Y http shows (run
// once; the values are written below as constants) and what the source
// projects' suites expect (testdata/pcaps' expected/ files: Zeek's
// http.log for the pipelined capture, suricata-verify's checks for the
// gap captures).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// httpTxn is one line of the HTTP log.
type httpTxn struct {
	TS         float64 `json:"ts"`
	UID        string  `json:"uid"`
	OrigH      string  `json:"id.orig_h"`
	OrigP      uint16  `json:"id.orig_p"`
	RespH      string  `json:"id.resp_h"`
	RespP      uint16  `json:"id.resp_p"`
	Depth      int     `json:"trans_depth"`
	Method     string  `json:"method"`
	Host       string  `json:"host"`
	URI        string  `json:"uri"`
	Referrer   string  `json:"referrer"`
	Version    string  `json:"version"`
	UserAgent  string  `json:"user_agent"`
	ReqLen     int     `json:"request_body_len"`
	ResLen     int     `json:"response_body_len"`
	Status     int     `json:"status_code"`
	StatusMsg  string  `json:"status_msg"`
	CType      string  `json:"content_type"`
	ResTS      float64 `json:"response_ts"`
	Incomplete bool    `json:"incomplete"`
	Gap        bool    `json:"gap"`
	GapBytes   int     `json:"gap_bytes"`
	NoResponse bool    `json:"no_response"`
	NoRequest  bool    `json:"no_request"`
	ReqFile    string  `json:"request_body_file"`
	ResFile    string  `json:"response_body_file"`
	ResDecoded int     `json:"response_body_decoded_len"`
}

// httpResult is one run with --http-log, --http-bodies and --conn-log.
type httpResult struct {
	txns   []httpTxn // sorted by uid, then trans_depth
	conns  []connlog.Record
	bodies string
	stderr string
}

func httpCLI(t *testing.T, pcap string, args ...string) httpResult {
	t.Helper()
	path := filepath.Join(seedPcapDir, pcap)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not there yet: %v", pcap, err)
	}
	dir := t.TempDir()
	logPath, connPath, bodies := filepath.Join(dir, "http.log"), filepath.Join(dir, "conn.log"), filepath.Join(dir, "bodies")
	args = append([]string{"-r", path, "--http-log", logPath, "--http-bodies", bodies, "--conn-log", connPath, "--workers", "2", "-q"}, args...)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 || stdout.Len() > 0 || stderr.Len() > 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	res := httpResult{bodies: bodies, stderr: stderr.String()}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		var tx httpTxn
		dec := json.NewDecoder(strings.NewReader(l))
		if err := dec.Decode(&tx); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		res.txns = append(res.txns, tx)
	}
	sort.SliceStable(res.txns, func(i, j int) bool {
		a, b := res.txns[i], res.txns[j]
		if a.UID != b.UID {
			return a.UID < b.UID
		}
		return a.Depth < b.Depth
	})
	f, err := os.Open(connPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if res.conns, err = connlog.Read(f); err != nil {
		t.Fatal(err)
	}
	return res
}

// body returns the content of a body file named on a line.
func (r httpResult) body(t *testing.T, name string) []byte {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) {
		t.Fatalf("body file name %q", name)
	}
	b, err := os.ReadFile(filepath.Join(r.bodies, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// conn returns the connection log record of a uid.
func (r httpResult) conn(t *testing.T, uid string) connlog.Record {
	t.Helper()
	for _, c := range r.conns {
		if c.UID == uid {
			return c
		}
	}
	t.Fatalf("uid %s is not in the connection log", uid)
	return connlog.Record{}
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestHTTPSeedChunked: 02-chunked: one GET /does_not_exist, one chunked
// 404 whose de-chunked body is the 208-byte HTML page.
func TestHTTPSeedChunked(t *testing.T) {
	r := httpCLI(t, "sniffer-02-chunked-rawip.pcap")
	if len(r.txns) != 1 {
		t.Fatalf("%d transactions: %+v", len(r.txns), r.txns)
	}
	tx := r.txns[0]
	c := r.conn(t, tx.UID)
	if tx.Method != "GET" || tx.URI != "/does_not_exist" || tx.Host != "www.corion.net" || tx.Version != "1.1" || tx.UserAgent != "lwp-request/2.06" ||
		tx.Status != 404 || tx.StatusMsg != "Not Found" || tx.CType != "text/html; charset=iso-8859-1" ||
		tx.Depth != 1 || tx.ReqLen != 0 || tx.ResLen != 208 || tx.Incomplete || tx.Gap || tx.ReqFile != "" {
		t.Errorf("%+v", tx)
	}
	if tx.OrigH != c.OrigH || tx.OrigP != c.OrigP || tx.RespH != c.RespH || tx.RespP != 80 || c.RespP != 80 {
		t.Errorf("endpoints %s:%d -> %s:%d, conn log %+v", tx.OrigH, tx.OrigP, tx.RespH, tx.RespP, c)
	}
	if tx.TS < c.TS || tx.ResTS < tx.TS {
		t.Errorf("ts %f response_ts %f, connection start %f", tx.TS, tx.ResTS, c.TS)
	}
	if tx.ResFile != tx.UID+"-1-res.html" {
		t.Errorf("body file %q", tx.ResFile)
	}
	b := r.body(t, tx.ResFile)
	if len(b) != 208 || sha256hex(b) != "bf25767587149c5d93a2374759386c8df7df117d719122bebb991145c9c60892" {
		t.Errorf("body: %d bytes, sha256 %s", len(b), sha256hex(b))
	}
	if names, _ := os.ReadDir(r.bodies); len(names) != 1 {
		t.Errorf("%d body files", len(names))
	}
}

// TestHTTPSeedKeepAlive: 03-keepalive: two requests, two responses on one
// connection.
func TestHTTPSeedKeepAlive(t *testing.T) {
	r := httpCLI(t, "sniffer-03-keepalive.pcap")
	want := []struct {
		uri    string
		resLen int
	}{{"/does_not_exists", 209}, {"/favicon.ico", 205}}
	if len(r.txns) != len(want) {
		t.Fatalf("%d transactions: %+v", len(r.txns), r.txns)
	}
	for i, w := range want {
		tx := r.txns[i]
		if tx.UID != r.txns[0].UID || tx.Depth != i+1 || tx.Method != "GET" || tx.URI != w.uri || tx.Host != "corion.net" ||
			tx.Status != 404 || tx.ResLen != w.resLen || len(r.body(t, tx.ResFile)) != w.resLen || tx.Incomplete {
			t.Errorf("transaction %d: %+v", i+1, tx)
		}
	}
	if len(r.conns) != 1 {
		t.Errorf("%d connections", len(r.conns))
	}
}

// TestHTTPSeedOtherPort: 04-other-port: HTTP is found on port 8888; the
// DNS-over-TCP connection of the dump logs nothing.
func TestHTTPSeedOtherPort(t *testing.T) {
	r := httpCLI(t, "sniffer-04-other-port-8888.pcap")
	if len(r.conns) != 2 {
		t.Fatalf("%d connections", len(r.conns))
	}
	if len(r.txns) != 2 {
		t.Fatalf("%d transactions: %+v", len(r.txns), r.txns)
	}
	for i, uri := range []string{"/does_not_exist", "/favicon.ico"} {
		tx := r.txns[i]
		if tx.RespP != 8888 || r.conn(t, tx.UID).RespP != 8888 || tx.URI != uri || tx.Status != 404 || tx.Depth != i+1 || tx.Host != "desert-island.dynodns.net:8888" || tx.ResLen != 1057 {
			t.Errorf("transaction %d: %+v", i+1, tx)
		}
	}
	for _, c := range r.conns {
		if c.RespP != 53 {
			continue
		}
		if c.OrigDelivered == 0 || c.RespDelivered == 0 {
			t.Errorf("the DNS connection carried nothing: %+v", c)
		}
		for _, tx := range r.txns {
			if tx.UID == c.UID {
				t.Errorf("a transaction on the DNS connection: %+v", tx)
			}
		}
	}
}

// gmailTshark is `tshark -r sniffer-06-gmail.pcap -Y http -T fields -e
// http.request.method -e http.request.uri -e http.response.code`, paired
// by stream: every request tshark shows, with the code of the response it
// shows (0: none: frame 78's long poll, whose chunked response never
// ends in the capture).
var gmailTshark = []struct {
	method, uri string
	code        int
}{
	{"GET", "/mail/?auth=DQAAAHEAAABei1vYSsfMV9uZpUtxLycE6nRtWY5hyb9KijmmZhQ_Ec5Lxx4V1BRHqu7-kNAlxS6G4ldTL71Oc-QX94RxSR2qmB-TlPMml2G2Ia5KQqXcONLozfjpvULDyhYsZjl8lCs4RE3fkm38hjOmG97l2Nkm86olJzwqqNtqwW2LqGKleA", 200},
	{"GET", "/mail/?view=page&name=browser&ver=b0ffb68a351a99e6", 200},
	{"GET", "/mail/?&ik=&search=inbox&view=tl&start=0&init=1&zx=3x6wae-gzro68", 200},
	{"GET", "/mail/channel/test?&at=ce211f8117b17f0d-10acd95d3cb&MODE=init&zx=nn3mu-cq3uj0", 200},
	{"GET", "/setgmail?&zx=m02o6w-lnwyja", 204},
	{"GET", "/mail/images/cleardot.gif?&at=ce211f8117b17f0d-10acd95d3cb&rand=f7c752f8271145910486127", 200},
	{"GET", "/mail/channel/test?&at=ce211f8117b17f0d-10acd95d3cb&at=ce211f8117b17f0d-10acd95d3cb&TYPE=xmlhttp&zx=igmem4-pgyxq0", 200},
	{"POST", "/mail/channel/bind?&at=ce211f8117b17f0d-10acd95d3cb&VER=4&RID=72466&CVER=2&zx=73gux0-h5h9b7", 200},
	{"GET", "/mail/?&ik=f7c752f827&view=cv&search=inbox&th=10acd8d7ad5679fa&qt=&prf=1&rq=xm&at=ce211f8117b17f0d-10acd95d3cb&zx=mc6jpx-j8v28r", 200},
	{"GET", "/mail/channel/bind?&at=ce211f8117b17f0d-10acd95d3cb&RID=rpc&SID=C9296DF1AD1C1780&CI=0&AID=2&TYPE=xmlhttp&zx=s4gmt9-gj21bf", 0},
	{"POST", "/mail/channel/bind?&at=ce211f8117b17f0d-10acd95d3cb&VER=2&SID=C9296DF1AD1C1780&RID=72467&zx=gce0g2-yzmulz", 200},
}

// TestHTTPSeedGmail: 06-gmail: every transaction tshark shows, the
// unfinished long poll flagged incomplete; tshark's Content-Length values
// (1062, 663, 6850, 40, 0, 43, 49, 78, 1116, 33, 26) are the body lengths.
func TestHTTPSeedGmail(t *testing.T) {
	r := httpCLI(t, "sniffer-06-gmail.pcap", "--http-decompress")
	if len(r.txns) != len(gmailTshark) {
		t.Fatalf("%d transactions, want %d", len(r.txns), len(gmailTshark))
	}
	byURI := map[string]httpTxn{}
	for _, tx := range r.txns {
		byURI[tx.Method+" "+tx.URI] = tx
	}
	for _, w := range gmailTshark {
		tx, ok := byURI[w.method+" "+w.uri]
		switch {
		case !ok:
			t.Errorf("missing %s %s", w.method, w.uri)
		case w.code == 0:
			// the server streams a chunked answer the capture cuts short
			if tx.Status != 200 || !tx.Incomplete || tx.ResLen != 7657 || len(r.body(t, tx.ResFile)) != 7657 {
				t.Errorf("long poll: %+v", tx)
			}
		case tx.Status != w.code || tx.Incomplete || tx.Gap || tx.NoResponse || tx.NoRequest:
			t.Errorf("%s %s: %+v", w.method, w.uri, tx)
		}
	}
	lens := map[string][2]int{ // method+uri prefix: request, response body length
		"GET /mail/?auth=":       {0, 1062},
		"GET /mail/?view=page":   {0, 663},
		"GET /mail/?&ik=&search": {0, 6850},
		"GET /mail/channel/test?&at=ce211f8117b17f0d-10acd95d3cb&MODE": {0, 40},
		"GET /setgmail":             {0, 0},
		"GET /mail/images/cleardot": {0, 43},
		"POST /mail/channel/bind?&at=ce211f8117b17f0d-10acd95d3cb&VER=4": {49, 78},
		"GET /mail/?&ik=f7c752f827":                                      {0, 1116},
		"POST /mail/channel/bind?&at=ce211f8117b17f0d-10acd95d3cb&VER=2": {33, 26},
	}
	for p, l := range lens {
		n := 0
		for k, tx := range byURI {
			if strings.HasPrefix(k, p) {
				n++
				if tx.ReqLen != l[0] || tx.ResLen != l[1] {
					t.Errorf("%s: body lengths %d %d, want %v", k, tx.ReqLen, tx.ResLen, l)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d transactions", p, n)
		}
	}
	// gzip bodies are inflated: the first page is 2109 bytes of HTML
	if tx := byURI["GET "+gmailTshark[0].uri]; tx.ResDecoded != 2109 || !bytes.Contains(r.body(t, tx.ResFile), []byte("<html")) {
		t.Errorf("decoded: %+v", tx)
	}
}

// TestHTTPPipelined: zk-http-pipelined.pcap against Zeek's http.log
// baseline (expected/...http-pipelining.http.log): five pipelined GETs on
// one connection, trans_depth 1-5. Zeek's response_body_len is the body
// after content decoding: with --http-decompress our decoded lengths are
// the same numbers (the first two responses are gzipped).
func TestHTTPPipelined(t *testing.T) {
	r := httpCLI(t, "zk-http-pipelined.pcap", "--http-decompress")
	zeek := []struct {
		uri, referrer string
		resLen        int // Zeek's response_body_len
		wire          int // Content-Length (tshark)
	}{
		{"/style/enhanced.css", "http://www.mozilla.org/projects/calendar/", 2675, 946},
		{"/script/urchin.js", "http://www.mozilla.org/projects/calendar/", 21421, 6716},
		{"/images/template/screen/bullet_utility.png", "http://www.mozilla.org/style/screen.css", 94, 94},
		{"/images/template/screen/key-point-top.png", "http://www.mozilla.org/style/screen.css", 2349, 2349},
		{"/projects/calendar/images/header-sunbird.png", "http://www.mozilla.org/projects/calendar/calendar.css", 27579, 27579},
	}
	if len(r.txns) != len(zeek) {
		t.Fatalf("%d transactions", len(r.txns))
	}
	for i, z := range zeek {
		tx := r.txns[i]
		if tx.UID != r.txns[0].UID || tx.Depth != i+1 || tx.OrigH != "192.168.1.104" || tx.OrigP != 1673 || tx.RespH != "63.245.209.11" || tx.RespP != 80 ||
			tx.Method != "GET" || tx.Host != "www.mozilla.org" || tx.URI != z.uri || tx.Referrer != z.referrer || tx.Version != "1.1" ||
			tx.UserAgent != "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.1.5) Gecko/20091102 Firefox/3.5.5" ||
			tx.ReqLen != 0 || tx.Status != 200 || tx.StatusMsg != "OK" || tx.ResLen != z.wire {
			t.Errorf("transaction %d: %+v", i+1, tx)
		}
		got := len(r.body(t, tx.ResFile))
		if decoded := z.resLen != z.wire; decoded && (tx.ResDecoded != z.resLen || got != z.resLen) || !decoded && got != z.wire {
			t.Errorf("transaction %d: decoded %d, file %d bytes, Zeek %d", i+1, tx.ResDecoded, got, z.resLen)
		}
	}
}

// TestHTTPGapInBody: sv-http-gap-body-null.pcap (suricata-verify
// http-gap-simple: packet 17 removed): /1, /2, /3 all 200; the /2 body
// (Content-Length 70) misses 14 bytes, which suricata shows as
// "AAAAAAAAAAAAAA[14 bytes missing]AAAA...": the body file has them as a
// hole. tshark shows only /1 and /3's responses (Content-Length 12 each;
// suricata's fileinfo sizes of 14 count the CRLF the server sent after
// each 12-byte body).
func TestHTTPGapInBody(t *testing.T) {
	r := httpCLI(t, "sv-http-gap-body-null.pcap")
	if len(r.txns) != 3 {
		t.Fatalf("%d transactions", len(r.txns))
	}
	for i, tx := range r.txns {
		wantLen, wantGap := 12, 0
		if i == 1 {
			wantLen, wantGap = 70, 14
		}
		if tx.URI != "/"+string(rune('1'+i)) || tx.Status != 200 || tx.ResLen != wantLen || tx.GapBytes != wantGap || tx.Gap != (wantGap > 0) || tx.Incomplete || tx.RespP != 8080 {
			t.Errorf("transaction %d: %+v", i+1, tx)
		}
	}
	want := strings.Repeat("A", 14) + strings.Repeat("\x00", 14) + strings.Repeat("A", 42)
	if b := r.body(t, r.txns[1].ResFile); string(b) != want {
		t.Errorf("/2 body %q", b)
	}
	if b := r.body(t, r.txns[0].ResFile); string(b) != "Hello World!" {
		t.Errorf("/1 body %q", b)
	}
	if b := r.body(t, r.txns[2].ResFile); string(b) != "Hello People" {
		t.Errorf("/3 body %q", b)
	}
}

// TestHTTPPipelineGap: sv-http-pipeline-gap.pcap (suricata-verify
// http-pipeline-files-with-gap): three requests; the second response's
// 733-byte body was lost whole (suricata: a file of size 733 with gaps and
// the empty sha256; here: gap_bytes 733 and no body file). tshark shows
// the three GETs and only the first response.
func TestHTTPPipelineGap(t *testing.T) {
	r := httpCLI(t, "sv-http-pipeline-gap.pcap")
	want := []struct {
		uri         string
		resLen, gap int
		ctype       string
	}{
		{"/", 24555, 0, "text/html; charset=UTF-8"},
		{"/wp-content/themes/wall-street/js/skip-link-focus-fix.js?ver=1.1.4", 733, 733, "text/javascript"},
		{"/wp-content/uploads/2015/04/NSL-InvestorPitch-9.007-420x420.jpg", 34152, 0, "image/jpeg"},
	}
	if len(r.txns) != len(want) {
		t.Fatalf("%d transactions", len(r.txns))
	}
	for i, w := range want {
		tx := r.txns[i]
		if tx.Depth != i+1 || tx.Method != "GET" || tx.URI != w.uri || tx.Host != "www.annaharrison.com" || tx.Status != 200 || tx.ResLen != w.resLen || tx.GapBytes != w.gap || tx.CType != w.ctype || tx.Incomplete {
			t.Errorf("transaction %d: %+v", i+1, tx)
		}
		if w.gap == w.resLen {
			if tx.ResFile != "" {
				t.Errorf("transaction %d: a body file for a body lost whole", i+1)
			}
		} else if len(r.body(t, tx.ResFile)) != w.resLen {
			t.Errorf("transaction %d: body file", i+1)
		}
	}
	if c := r.conn(t, r.txns[0].UID); c.MissedBytes != 733 {
		t.Errorf("conn log missed_bytes %d", c.MissedBytes)
	}
}

// TestHTTPIPv6: sv-http-ipv6-null.pcap (suricata-verify http-ipv6: one
// transaction, hostname "[::1]"; curl against python's http.server).
func TestHTTPIPv6(t *testing.T) {
	r := httpCLI(t, "sv-http-ipv6-null.pcap")
	if len(r.txns) != 1 {
		t.Fatalf("%d transactions", len(r.txns))
	}
	tx := r.txns[0]
	if tx.OrigH != "::1" || tx.RespH != "::1" || tx.RespP != 8000 || tx.Host != "[::1]:8000" || tx.Method != "GET" || tx.URI != "/" ||
		tx.Status != 200 || tx.ResLen != 563 || tx.CType != "text/html; charset=utf-8" || tx.ResFile != tx.UID+"-1-res.html" {
		t.Errorf("%+v", tx)
	}
	if b := r.body(t, tx.ResFile); len(b) != 563 || !bytes.HasPrefix(b, []byte("<!DOCTYPE")) {
		t.Errorf("body %q", b)
	}
}

// TestHTTPTcpflowTest1: tf-test1-http.pcap (tcpflow's test1): two
// connections, GET / (200, 2589 gzipped bytes) and GET /gen_204 (204).
func TestHTTPTcpflowTest1(t *testing.T) {
	r := httpCLI(t, "tf-test1-http.pcap")
	if len(r.txns) != 2 {
		t.Fatalf("%d transactions", len(r.txns))
	}
	byURI := map[string]httpTxn{}
	for _, tx := range r.txns {
		byURI[tx.URI] = tx
	}
	if tx := byURI["/"]; tx.Host != "www.google.com" || tx.Status != 200 || tx.ResLen != 2589 || tx.ResFile != tx.UID+"-1-res.html.gz" || tx.OrigP != 50955 {
		t.Errorf("GET /: %+v", tx)
	}
	if tx := byURI["/gen_204"]; tx.Host != "clients1.google.com" || tx.Status != 204 || tx.ResLen != 0 || tx.ResFile != "" || tx.Referrer != "http://www.google.com/" || tx.OrigP != 50956 {
		t.Errorf("GET /gen_204: %+v", tx)
	}
	if byURI["/"].UID == byURI["/gen_204"].UID {
		t.Error("one uid for two connections")
	}
}

// TestHTTPFlags: flag checks and combinations.
func TestHTTPFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-r", "x.pcap", "--http-decompress"}, 2, "--http-decompress needs --http-bodies"},
		{[]string{"-r", "x.pcap", "--http-log", "-", "--http-body-max", "lots"}, 2, "want a positive number of bytes"},
		{[]string{"-r", "x.pcap", "--http-log", "-", "--http-body-max", "0"}, 2, "want a positive number of bytes"},
		{[]string{"-r", "x.pcap", "--metrics", "256.1.1.1:0"}, 1, "--metrics"},
		{[]string{"-r", "x.pcap", "--http-log", "/nonexistent/dir/http.log"}, 1, "no such file or directory"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
	}
	var v bodySize
	for in, want := range map[string]bodySize{"10": 10, "4k": 4096, "10MiB": 10 << 20, "1g": 1 << 30, "2M": 2 << 20} {
		if err := v.Set(in); err != nil || v != want {
			t.Errorf("%s: %d %v", in, v, err)
		}
	}
}

// TestHTTPLogStdout: --http-log - writes to stdout; --http-bodies alone
// writes bodies without a log.
func TestHTTPLogStdout(t *testing.T) {
	path := filepath.Join(seedPcapDir, "sniffer-03-keepalive.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err) // bundled with the repository
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-r", path, "--http-log", "-", "-q"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 || !strings.Contains(stdout.String(), `"uri":"/favicon.ico"`) {
		t.Errorf("stdout %q", stdout.String())
	}
	dir := filepath.Join(t.TempDir(), "b")
	stdout.Reset()
	if code := run(context.Background(), []string{"-r", path, "--http-bodies", dir, "--http-body-max", "100", "-q"}, &stdout, &stderr); code != 0 || stdout.Len() > 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	es, err := os.ReadDir(dir)
	if err != nil || len(es) != 2 {
		t.Fatalf("%v %v", es, err)
	}
	for _, e := range es {
		if fi, _ := e.Info(); fi.Size() != 100 {
			t.Errorf("%s: %d bytes, want the 100-byte cap", e.Name(), fi.Size())
		}
	}
}

// TestHTTPOverVLAN: HTTP inside 802.1Q tags (tshark -Y http agrees):
// ak-twovlan.pcap (tags 201 and 200, one GET /, a 200 whose 104548-byte
// body is cut after 3347 bytes: incomplete) and zk-vlan-qinqinq.pcap
// (three tags, GET /download/CHANGES.bro-aux.txt from bro.org, a 200).
func TestHTTPOverVLAN(t *testing.T) {
	r := httpCLI(t, "ak-twovlan.pcap")
	if len(r.txns) != 1 {
		t.Fatalf("ak-twovlan: %d transactions", len(r.txns))
	}
	if tx := r.txns[0]; tx.Method != "GET" || tx.URI != "/" || tx.Host != "xxxxxxx.xxx.xxx" || tx.Status != 200 || tx.ResLen != 3347 || !tx.Incomplete {
		t.Errorf("ak-twovlan: %+v", tx)
	}
	r = httpCLI(t, "zk-vlan-qinqinq.pcap")
	if len(r.txns) != 1 {
		t.Fatalf("zk-vlan-qinqinq: %d transactions", len(r.txns))
	}
	if tx := r.txns[0]; tx.Method != "GET" || tx.URI != "/download/CHANGES.bro-aux.txt" || tx.Host != "bro.org" || tx.Status != 200 || tx.ResLen != 4705 || tx.Incomplete {
		t.Errorf("zk-vlan-qinqinq: %+v", tx)
	}
}
