package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// sslCLI runs fastsniff on a capture of the TLS corpus (bundled with
// package tlsinfo) with --ssl-log and --conn-log, and returns the lines.
func sslCLI(t *testing.T, pcap string, args ...string) ([]map[string]any, []connlog.Record, []map[string]any) {
	t.Helper()
	dir := t.TempDir()
	sslPath, connPath := filepath.Join(dir, "ssl.log"), filepath.Join(dir, "conn.log")
	if !filepath.IsAbs(pcap) {
		pcap = filepath.Join("../../tlsinfo/testdata/corpus", pcap)
	}
	args = append([]string{"-r", pcap, "--ssl-log", sslPath, "--conn-log", connPath, "--workers", "2", "-q"}, args...)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	b, err := os.ReadFile(sslPath)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		lines = append(lines, m)
	}
	f, err := os.Open(connPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conns, err := connlog.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(connPath)
	var rawConns []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		rawConns = append(rawConns, m)
	}
	return lines, conns, rawConns
}

func TestSSLLogJoinsConnLog(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		bypassed bool
	}{
		{"bypass", nil, true},
		{"no-bypass", []string{"--tls-bypass=false"}, false},
		{"digest-needs-every-byte", []string{"--digest"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, conns, raw := sslCLI(t, "zk-tls-conn-with-extensions.pcap", tc.args...)
			if len(lines) != 1 || len(conns) != 1 {
				t.Fatalf("%d ssl lines, %d conn lines", len(lines), len(conns))
			}
			l := lines[0]
			if l["uid"] != conns[0].UID || l["server_name"] != "ssl.gstatic.com" || l["version"] != "TLSv10" {
				t.Errorf("ssl line %v, conn uid %s", l, conns[0].UID)
			}
			if got := l["bypassed"] == true; got != tc.bypassed {
				t.Errorf("ssl line bypassed %v, want %v", got, tc.bypassed)
			}
			if got := raw[0]["tls_bypassed"] == true; got != tc.bypassed {
				t.Errorf("conn line tls_bypassed %v, want %v: %v", got, tc.bypassed, raw[0])
			}
			if tc.bypassed {
				// the capture's application data after the handshake
				// was not passed on, and counted on both lines
				if n, _ := raw[0]["bypassed_bytes"].(float64); n <= 0 {
					t.Errorf("bypassed bytes: conn %v", raw[0]["bypassed_bytes"])
				}
			}
		})
	}
}

// TestSSLLogRealHandshakes: real crypto/tls connections made over
// loopback (tlstest), written as a capture and read by fastsniff: every
// line says what the client reported.
func TestSSLLogRealHandshakes(t *testing.T) {
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := tlstest.SelfSigned("client.test")
	if err != nil {
		t.Fatal(err)
	}
	cache := tls.NewLRUClientSessionCache(4)
	type want struct {
		resumed, clientCert bool
		alpn                string
	}
	var recs []*tlstest.Recording
	var wants []want
	add := func(v uint16, alpn []string, clientCert, resume bool) {
		ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, NextProtos: alpn}
		scfg := &tls.Config{Certificates: []tls.Certificate{srv}, MinVersion: v, MaxVersion: v, NextProtos: alpn}
		scfg.SetSessionTicketKeys([][32]byte{{1}}) // the same keys in every config: tickets resume
		if clientCert {
			ccfg.Certificates = []tls.Certificate{cli}
			scfg.ClientAuth = tls.RequireAnyClientCert
		}
		if resume {
			ccfg.ClientSessionCache = cache
		}
		r, err := tlstest.Exchange(ccfg, scfg, []byte("GET / HTTP/1.1\r\n\r\n"), 100000)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		wants = append(wants, want{resumed: r.State.DidResume, clientCert: clientCert && v == tls.VersionTLS12, alpn: r.State.NegotiatedProtocol})
	}
	add(tls.VersionTLS12, []string{"h2", "http/1.1"}, true, false)
	add(tls.VersionTLS13, []string{"h2"}, false, false)
	add(tls.VersionTLS12, nil, false, true)
	add(tls.VersionTLS12, nil, false, true) // resumes the previous
	add(tls.VersionTLS13, nil, false, true)
	add(tls.VersionTLS13, nil, false, true) // resumes with a PSK
	if !recs[3].State.DidResume || !recs[5].State.DidResume {
		t.Fatal("crypto/tls did not resume")
	}
	path := filepath.Join(t.TempDir(), "tls.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlstest.WritePcap(f, recs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lines, conns, raw := sslCLI(t, path)
	if len(lines) != len(recs) || len(conns) != len(recs) {
		t.Fatalf("%d lines, %d connections, want %d", len(lines), len(conns), len(recs))
	}
	byPort := map[float64]map[string]any{}
	for _, l := range lines {
		byPort[l["id.orig_p"].(float64)] = l
	}
	for i, r := range recs {
		l := byPort[float64(10000+i)]
		st, w := r.State, wants[i]
		if l == nil {
			t.Fatalf("connection %d: no line", i)
		}
		v := map[uint16]string{tls.VersionTLS12: "TLSv12", tls.VersionTLS13: "TLSv13"}[st.Version]
		if l["version"] != v || l["cipher"] != tls.CipherSuiteName(st.CipherSuite) || l["server_name"] != "server.test" ||
			l["resumed"] != w.resumed || l["established"] != true || l["bypassed"] != true {
			t.Errorf("connection %d: %v; client: version %s cipher %s resumed %v", i, l, v, tls.CipherSuiteName(st.CipherSuite), w.resumed)
		}
		if st.Version == tls.VersionTLS12 && w.alpn != "" && l["next_protocol"] != w.alpn {
			t.Errorf("connection %d: next_protocol %v, want %s", i, l["next_protocol"], w.alpn)
		}
		if got := l["client_cert"] == true; got != w.clientCert {
			t.Errorf("connection %d: client_cert %v, want %v", i, got, w.clientCert)
		}
		if leaf := st.Version == tls.VersionTLS12 && !w.resumed; leaf != (l["subject"] == "CN=server.test,O=fastsniff test") {
			t.Errorf("connection %d: subject %v (leaf visible: %v)", i, l["subject"], leaf)
		}
	}
	for _, c := range raw {
		if n, _ := c["bypassed_bytes"].(float64); c["tls_bypassed"] != true || n < 100000 {
			t.Errorf("conn line %v: not marked, or fewer bypassed bytes than the 100000-byte response", c)
		}
		// offline the Table itself stops (reassembly.Conn.Bypass): the
		// response is counted, not delivered
		if d, _ := c["resp_delivered"].(float64); d >= 100000 {
			t.Errorf("conn line %v: %v response bytes delivered after the bypass", c, d)
		}
	}
}

// TestSSLLogLiveBypass replays real TLS connections (each a 512 KiB
// response) into a capture namespace, slowly enough for the handshakes to
// be read before the responses pass: the TLS log has every connection,
// and the kernel dropped and counted the packets after each handshake
// (drop mode, bpf.BypassDrop).
func TestSSLLogLiveBypass(t *testing.T) {
	v := newLiveNS(t)
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		t.Fatal(err)
	}
	var recs []*tlstest.Recording
	for i := range 4 {
		ver := uint16(tls.VersionTLS12 + i%2)
		ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MaxVersion: ver}
		scfg := &tls.Config{Certificates: []tls.Certificate{srv}, MaxVersion: ver}
		r, err := tlstest.Exchange(ccfg, scfg, []byte("GET / HTTP/1.1\r\n\r\n"), 512<<10)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "tls.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlstest.WritePcap(f, recs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sslPath, connPath := filepath.Join(dir, "ssl.log"), filepath.Join(dir, "conn.log")
	code, stderr := liveRunCLI(t, v, func() { v.replay(t, pcap, "--pps=4000") }, "--ssl-log", sslPath, "--conn-log", connPath, "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`bypassed \d+ packets of (\d+) connections, (\d+) dropped and counted`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no bypass summary: %s", stderr)
	}
	conns, _ := strconv.Atoi(m[1])
	pkts, _ := strconv.Atoi(m[2])
	t.Logf("kernel: %d packets dropped and counted, %d connections", pkts, conns)
	if conns != len(recs) || pkts < 100 {
		t.Errorf("kernel bypassed %d packets of %d connections, want most packets of %d", pkts, conns, len(recs))
	}
	b, err := os.ReadFile(sslPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d ssl lines: %s", len(lines), b)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["established"] != true || m["bypassed"] != true || m["server_name"] != "server.test" {
			t.Errorf("line %s", l)
		}
	}
	cb, err := os.ReadFile(connPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(cb), `"tls_bypassed":true`); n != len(recs) {
		t.Errorf("%d conn lines marked tls_bypassed: %s", n, cb)
	}
}

// TestSSLBypassNeedsNoBytes: the bypass is off whenever an output needs
// every byte or every whole packet.
func TestSSLBypassNeedsNoBytes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--tls-bypass=false"}, false},
		{[]string{"--digest"}, false},
		{[]string{"--flows", t.TempDir()}, false},
		{[]string{"-w", filepath.Join(t.TempDir(), "out.pcap")}, false},
	} {
		o, err := parseArgs(append([]string{"-r", "x.pcap", "--ssl-log", "-"}, tc.args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s, err := openSSL(o, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		h := s.log.Handler(nil)
		h.SetBypass(func(*reassembly.Conn) {})
		if got := h.OnBypass != nil; got != tc.want {
			t.Errorf("%v: bypass %v, want %v", tc.args, got, tc.want)
		}
		_ = s.log.Close()
	}
}
