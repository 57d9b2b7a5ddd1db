package main

// The seed module's (Sniffer-HTTP) tests, redone through the command line:
// each dump is read with -r, the connection log written with --conn-log and
// the streams with --flows, and what the Perl tests asserted (requests,
// responses, connections) is checked on the files, plus tshark's digests
// of every direction (testdata/pcaps/tshark-streams.tsv). Then bad input.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
)

const seedPcapDir = "../../testdata/pcaps"

// seedResult is one run of the command.
type seedResult struct {
	code           int
	stdout, stderr string
	conns          []connlog.Record
	flows          string // the --flows directory
}

// seedCLI runs the command with args plus --conn-log and --flows into a
// temporary directory.
func seedCLI(t *testing.T, args ...string) seedResult {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "conn.log")
	flows := filepath.Join(dir, "flows")
	args = append([]string{"--conn-log", logPath, "--digest", "--flows", flows, "--workers", "2", "-q"}, args...)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	res := seedResult{code: code, stdout: stdout.String(), stderr: stderr.String(), flows: flows}
	if f, err := os.Open(logPath); err == nil {
		res.conns, err = connlog.Read(f)
		f.Close()
		if err != nil {
			t.Fatalf("conn log: %v", err)
		}
		sort.Slice(res.conns, func(i, j int) bool { return res.conns[i].TS < res.conns[j].TS })
	}
	return res
}

// stream returns the bytes of one direction of the logged connection rec
// ("c2s" or "s2c") from the flow files; no file means no bytes.
func (r seedResult) stream(t *testing.T, rec connlog.Record, dir string) []byte {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(r.flows, rec.UID+"-*."+dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		return nil
	}
	if len(m) > 1 {
		t.Fatalf("several flow files for %s %s: %v", rec.UID, dir, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedRun reads one seed dump; it must succeed without a word on stderr.
func seedRun(t *testing.T, name string, filter ...string) seedResult {
	t.Helper()
	res := seedCLI(t, append([]string{"-r", filepath.Join(seedPcapDir, name)}, filter...)...)
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	return res
}

// seedRef is tshark's view of one stream of a capture.
type seedRef struct {
	client, server string
	c2s, s2c       string // sha256
	c2sN, s2cN     int
}

// seedRefs reads testdata/pcaps/tshark-streams.tsv for one capture.
func seedRefs(t *testing.T, name string) []seedRef {
	t.Helper()
	f, err := os.Open(filepath.Join(seedPcapDir, "tshark-streams.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []seedRef
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 11 || c[0] != name {
			continue
		}
		n1, _ := strconv.Atoi(c[5])
		n2, _ := strconv.Atoi(c[6])
		out = append(out, seedRef{client: c[2], server: c[3], c2sN: n1, s2cN: n2, c2s: c[9], s2c: c[10]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no tshark streams for %s", name)
	}
	return out
}

func seedEndpoint(h string, p uint16) string {
	if strings.Contains(h, ":") {
		return fmt.Sprintf("[%s]:%d", h, p)
	}
	return fmt.Sprintf("%s:%d", h, p)
}

func seedSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// seedCheckTshark: every tshark stream is one logged connection with
// the same client and server, and both directions' flow files and digests
// equal tshark's bytes; nothing was missed.
func seedCheckTshark(t *testing.T, res seedResult, name string) {
	t.Helper()
	refs := seedRefs(t, name)
	if len(res.conns) != len(refs) {
		t.Errorf("%d connections, tshark %d", len(res.conns), len(refs))
	}
	for _, ref := range refs {
		var rec *connlog.Record
		for i := range res.conns {
			r := &res.conns[i]
			if seedEndpoint(r.OrigH, r.OrigP) == ref.client && seedEndpoint(r.RespH, r.RespP) == ref.server {
				rec = r
			}
		}
		if rec == nil {
			t.Errorf("no connection %s > %s", ref.client, ref.server)
			continue
		}
		c2s, s2c := res.stream(t, *rec, "c2s"), res.stream(t, *rec, "s2c")
		if seedSHA(c2s) != ref.c2s || rec.OrigSHA256 != ref.c2s || len(c2s) != ref.c2sN || rec.OrigDelivered != uint64(ref.c2sN) {
			t.Errorf("%s > %s client stream: %d bytes %.12s (log %.12s), tshark %d %.12s", ref.client, ref.server, len(c2s), seedSHA(c2s), rec.OrigSHA256, ref.c2sN, ref.c2s)
		}
		if seedSHA(s2c) != ref.s2c || rec.RespSHA256 != ref.s2c || len(s2c) != ref.s2cN || rec.RespDelivered != uint64(ref.s2cN) {
			t.Errorf("%s > %s server stream: %d bytes %.12s (log %.12s), tshark %d %.12s", ref.client, ref.server, len(s2c), seedSHA(s2c), rec.RespSHA256, ref.s2cN, ref.s2c)
		}
		if rec.MissedBytes != 0 || rec.OrigBytes != rec.OrigDelivered || rec.RespBytes != rec.RespDelivered {
			t.Errorf("%s > %s: missed %d bytes", ref.client, ref.server, rec.MissedBytes)
		}
	}
}

// seedHTTP splits an HTTP/1.x stream into the start lines of its messages,
// following Content-Length and chunked bodies; bodies are returned
// de-chunked.
func seedHTTP(t *testing.T, b []byte) (starts []string, bodies []string) {
	t.Helper()
	for len(b) > 0 {
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 {
			t.Fatalf("unterminated header in %q", b)
		}
		head := string(b[:end])
		b = b[end+4:]
		lines := strings.Split(head, "\r\n")
		starts = append(starts, lines[0])
		var body []byte
		chunked, length := false, 0
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, ":")
			v = strings.TrimSpace(v)
			switch strings.ToLower(k) {
			case "transfer-encoding":
				chunked = strings.EqualFold(v, "chunked")
			case "content-length":
				length, _ = strconv.Atoi(v)
			}
		}
		switch {
		case chunked:
			for {
				nl := bytes.Index(b, []byte("\r\n"))
				if nl < 0 {
					t.Fatalf("bad chunk header in %q", b)
				}
				n, err := strconv.ParseInt(strings.TrimSpace(string(b[:nl])), 16, 64)
				if err != nil || int(n) > len(b)-nl-2 {
					t.Fatalf("bad chunk size %q", b[:nl])
				}
				b = b[nl+2:]
				if n == 0 {
					b = bytes.TrimPrefix(b, []byte("\r\n"))
					break
				}
				body = append(body, b[:n]...)
				b = bytes.TrimPrefix(b[n:], []byte("\r\n"))
			}
		case length > 0:
			body, b = b[:length], b[length:]
		}
		bodies = append(bodies, string(body))
	}
	return starts, bodies
}

// TestSeedChunked is 02-chunked.t: one request, one chunked 404 response,
// the connection closed.
func TestSeedChunked(t *testing.T) {
	res := seedRun(t, "sniffer-02-chunked-rawip.pcap")
	if len(res.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(res.conns))
	}
	rec := res.conns[0]
	if rec.OrigH != "192.0.2.1" || rec.OrigP != 2537 || rec.RespH != "192.0.2.80" || rec.RespP != 80 || rec.CloseReason != "fin" || rec.ConnState != "SF" {
		t.Errorf("connection %+v", rec)
	}
	req := "GET /does_not_exist HTTP/1.1\r\nTE: deflate,gzip;q=0.3\r\nConnection: TE, close\r\nHost: www.corion.net\r\nUser-Agent: lwp-request/2.06\r\n\r\n"
	if got := string(res.stream(t, rec, "c2s")); got != req {
		t.Errorf("client stream %q, want %q", got, req)
	}
	body := "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\nThe requested URL /does_not_exist was not found on this server.<P>\n</BODY></HTML>\n"
	resp := "HTTP/1.1 404 Not Found\r\nDate: Sun, 23 Oct 2005 19:58:38 GMT\r\nServer: Apache/1.3.31 (Unix)\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n" +
		fmt.Sprintf("%x \r\n", len(body)) + body + "\r\n0\r\n\r\n"
	s2c := res.stream(t, rec, "s2c")
	if string(s2c) != resp {
		t.Errorf("server stream %q, want %q", s2c, resp)
	}
	starts, bodies := seedHTTP(t, s2c)
	if len(starts) != 1 || starts[0] != "HTTP/1.1 404 Not Found" || bodies[0] != body {
		t.Errorf("responses %q bodies %q", starts, bodies)
	}
	seedCheckTshark(t, res, "sniffer-02-chunked-rawip.pcap")
}

// TestSeedKeepAlive is 03-libpcap_dump.t: one keep-alive connection with
// two requests and two responses.
func TestSeedKeepAlive(t *testing.T) {
	res := seedRun(t, "sniffer-03-keepalive.pcap", "tcp", "port", "80")
	if len(res.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(res.conns))
	}
	rec := res.conns[0]
	reqs, _ := seedHTTP(t, res.stream(t, rec, "c2s"))
	want := []string{"GET /does_not_exists HTTP/1.1", "GET /favicon.ico HTTP/1.1"}
	if strings.Join(reqs, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", reqs, want)
	}
	resps, bodies := seedHTTP(t, res.stream(t, rec, "s2c"))
	if len(resps) != 2 || resps[0] != "HTTP/1.1 404 Not Found" || resps[1] != "HTTP/1.1 404 Not Found" ||
		!strings.Contains(bodies[0], "The requested URL /does_not_exists was not found on this server.") {
		t.Errorf("responses %q", resps)
	}
	seedCheckTshark(t, res, "sniffer-03-keepalive.pcap")
}

// TestSeedOtherPort is 04-other_port.t: DNS over TCP to port 53, then HTTP
// on port 8888 with two requests; the Perl test reads it with the filter
// "tcp port 8888", which leaves the HTTP connection only.
func TestSeedOtherPort(t *testing.T) {
	res := seedRun(t, "sniffer-04-other-port-8888.pcap")
	if len(res.conns) != 2 {
		t.Fatalf("%d connections, want 2", len(res.conns))
	}
	dns, web := res.conns[0], res.conns[1]
	if dns.RespP != 53 || web.RespP != 8888 {
		t.Fatalf("connections to ports %d and %d, want 53 then 8888", dns.RespP, web.RespP)
	}
	q := res.stream(t, dns, "c2s")
	// DNS over TCP: a 2-byte length prefix, then the query
	if len(q) < 2 || int(q[0])<<8|int(q[1]) != len(q)-2 || !bytes.Contains(q, []byte("\x0ddesert-island\x07dynodns\x03net\x00")) {
		t.Errorf("DNS query %q", q)
	}
	reqs, _ := seedHTTP(t, res.stream(t, web, "c2s"))
	if strings.Join(reqs, "|") != "GET /does_not_exist HTTP/1.1|GET /favicon.ico HTTP/1.1" {
		t.Errorf("requests %q", reqs)
	}
	resps, _ := seedHTTP(t, res.stream(t, web, "s2c"))
	if strings.Join(resps, "|") != "HTTP/1.1 404 Not Found|HTTP/1.1 404 Not Found" {
		t.Errorf("responses %q", resps)
	}
	seedCheckTshark(t, res, "sniffer-04-other-port-8888.pcap")

	filtered := seedRun(t, "sniffer-04-other-port-8888.pcap", "tcp port 8888")
	if len(filtered.conns) != 1 || filtered.conns[0].RespP != 8888 || filtered.conns[0].RespSHA256 != web.RespSHA256 || filtered.conns[0].OrigSHA256 != web.OrigSHA256 {
		t.Errorf("with filter: %+v", filtered.conns)
	}
}

// TestSeedGmail is 06-gmail_interaction.t ("we survived parsing this
// file"), made strict: 7 connections, some picked up midstream, one reset,
// and every captured payload byte delivered exactly as tshark has it.
func TestSeedGmail(t *testing.T) {
	res := seedRun(t, "sniffer-06-gmail.pcap", "tcp port 80")
	reasons := map[string]int{}
	var total uint64
	for _, c := range res.conns {
		reasons[c.CloseReason]++
		total += c.OrigDelivered + c.RespDelivered
	}
	if len(res.conns) != 7 || reasons["fin"] != 2 || reasons["rst"] != 1 || reasons["flush"] != 4 {
		t.Errorf("%d connections, close reasons %v; want 7: fin 2, rst 1, flush 4", len(res.conns), reasons)
	}
	// every captured payload byte (tcp_segment_report.py unique_bytes,
	// summed over the capture's 10 directions that carry data)
	if total != 36483 {
		t.Errorf("delivered %d bytes in all, %d were captured", total, 36483)
	}
	seedCheckTshark(t, res, "sniffer-06-gmail.pcap")
	for _, c := range res.conns {
		if c.OrigP == 37750 && (c.CloseReason != "rst" || c.ConnState != "RSTO") {
			t.Errorf("port 37750: %s %s, want rst RSTO", c.CloseReason, c.ConnState)
		}
	}
}

// TestCLIBadInput: a file that cannot be read is a one-line error naming
// it and a non-zero exit; a file cut mid-packet is a warning, everything
// before the cut, exit 0.
func TestCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(seedPcapDir, "sniffer-03-keepalive.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badLink := append([]byte(nil), good...)
	badLink[20] = 147 // LINKTYPE_USER0, little-endian header
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "no-such.pcap"), "no such file"},
		{"empty", write("empty.pcap", nil), "empty"},
		{"text", write("notes.pcap", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), "not a pcap"},
		{"link-type", write("user0.pcap", badLink), "link type 147"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := seedCLI(t, "-r", tc.path)
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.path) || !strings.Contains(lines[0], tc.want) {
				t.Errorf("exit %d, stderr %q; want non-zero and one line naming %s (%q)", res.code, res.stderr, tc.path, tc.want)
			}
			if len(res.conns) != 0 {
				t.Errorf("%d connections logged", len(res.conns))
			}
		})
	}
	t.Run("link-type-second-file", func(t *testing.T) {
		// the bad file is found before anything is read
		p := write("user0b.pcap", badLink)
		res := seedCLI(t, "-r", filepath.Join(seedPcapDir, "sniffer-03-keepalive.pcap"), "-r", p)
		if res.code == 0 || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, p) {
			t.Errorf("exit %d, stderr %q", res.code, res.stderr)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		// cut inside the last record (the client's final ACK, no payload)
		p := write("cut.pcap", good[:len(good)-18])
		res := seedCLI(t, "-r", p)
		if res.code != 0 || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, "warning") ||
			!strings.Contains(res.stderr, p) || !strings.Contains(res.stderr, "truncated") {
			t.Fatalf("exit %d, stderr %q; want 0 and a one-line warning naming the file", res.code, res.stderr)
		}
		ref := seedRefs(t, "sniffer-03-keepalive.pcap")[0]
		if len(res.conns) != 1 || res.conns[0].OrigSHA256 != ref.c2s || res.conns[0].RespSHA256 != ref.s2c {
			t.Errorf("connections %+v; want the whole keep-alive exchange (%.12s/%.12s)", res.conns, ref.c2s, ref.s2c)
		}
	})
}
