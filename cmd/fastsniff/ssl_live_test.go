package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// tlsBypassCapture writes n real TLS connections (TLS 1.2 and 1.3 in
// turn, each a request and a size-byte response) as a capture.
func tlsBypassCapture(t *testing.T, n, size int) string {
	t.Helper()
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		t.Fatal(err)
	}
	var recs []*tlstest.Recording
	for i := range n {
		ver := uint16(tls.VersionTLS12 + i%2)
		ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MaxVersion: ver}
		scfg := &tls.Config{Certificates: []tls.Certificate{srv}, MaxVersion: ver}
		r, err := tlstest.Exchange(ccfg, scfg, []byte("GET / HTTP/1.1\r\n\r\n"), size)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.Version != ver {
			t.Fatalf("connection %d: version %x, want %x", i, r.State.Version, ver)
		}
		recs = append(recs, r)
	}
	pcap := filepath.Join(t.TempDir(), "tls.pcap")
	f, err := os.Create(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlstest.WritePcap(f, recs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return pcap
}

// connLines reads a conn log as raw JSON objects keyed by client port.
func connLines(t *testing.T, path string) map[float64]map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[float64]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out[m["id.orig_p"].(float64)] = m
	}
	return out
}

// TestSSLLiveBypassMatchesOffline (issue #13 items 3 and 7): real TLS
// connections replayed into a capture namespace with the kernel bypass on
// give the same connection log as `-r` of the same capture with the
// bypass: the same packet and byte counts, state, history, close reason
// and bypass marks (only the capture clock's fields, and how the bytes
// after the handshake went undelivered, differ); the TLS metrics count
// the handshakes by version and the bypassed connections and bytes, and
// the kernel cut most of the packets.
func TestSSLLiveBypassMatchesOffline(t *testing.T) {
	v := newLiveNS(t)
	const n, size = 4, 256 << 10
	pcap := tlsBypassCapture(t, n, size)
	dir := t.TempDir()

	// offline, bypass on (the default)
	offConn := filepath.Join(dir, "off-conn.log")
	var offMetrics map[string]float64
	ctx := withMetricsHook(context.Background(), func(a string) { offMetrics = scrapeMetrics(t, a) })
	var stderr bytes.Buffer
	if c := run(ctx, []string{"-r", pcap, "--ssl-log", filepath.Join(dir, "off-ssl.log"), "--conn-log", offConn, "--metrics", "127.0.0.1:0", "--workers", "2", "-q"}, io.Discard, &stderr); c != 0 {
		t.Fatalf("-r: exit %d: %s", c, stderr.String())
	}

	// live: slowly enough that each handshake is read, and the kernel
	// told, before its response passes. At this rate a ring block is
	// handed over at its timeout, so the worker reads a handshake up to a
	// block timeout after it passed (the default 100 ms is a whole
	// connection here): 10 ms blocks
	liveConn, liveSSL := filepath.Join(dir, "live-conn.log"), filepath.Join(dir, "live-ssl.log")
	var liveMetrics map[string]float64
	ctx = withMetricsHook(context.Background(), func(a string) { liveMetrics = scrapeMetrics(t, a) })
	code, errs := liveRunCLICtx(t, ctx, v, func() { v.replay(t, pcap, "--pps=4000") },
		"--ssl-log", liveSSL, "--conn-log", liveConn, "--metrics", "127.0.0.1:0", "--workers", "2", "--block-timeout", "10ms")
	if code != 0 {
		t.Fatalf("-i: exit %d: %s", code, errs)
	}
	m := regexp.MustCompile(`bypassed (\d+) packets of (\d+) connections, (\d+) dropped and counted`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("no kernel bypass summary: %s", errs)
	}
	cut, _ := strconv.Atoi(m[1])
	kconns, _ := strconv.Atoi(m[2])
	dropped, _ := strconv.Atoi(m[3])

	off, live := connLines(t, offConn), connLines(t, liveConn)
	if len(off) != n || len(live) != n {
		t.Fatalf("%d connections offline, %d live, want %d", len(off), len(live), n)
	}
	// a response is size bytes of plaintext: more than that encrypted,
	// in at least size/1448 segments
	minPkts := float64(size / 1448)
	var offBypassed, liveBypassed float64
	for port, o := range off {
		l := live[port]
		if l == nil {
			t.Errorf("port %v: not in the live log", port)
			continue
		}
		for _, k := range []string{"id.orig_h", "id.resp_h", "id.resp_p", "orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes",
			"missed_bytes", "conn_state", "history", "close_reason", "tls_bypassed", "service"} {
			if fmt.Sprint(o[k]) != fmt.Sprint(l[k]) {
				t.Errorf("port %v: %s offline %v, live %v", port, k, o[k], l[k])
			}
		}
		if o["tls_bypassed"] != true || o["close_reason"] != "fin" || o["conn_state"] != "SF" || o["service"] != "ssl" {
			t.Errorf("port %v offline: %v", port, o)
		}
		if rp, _ := o["resp_pkts"].(float64); rp < minPkts {
			t.Errorf("port %v: resp_pkts %v, want at least %v", port, rp, minPkts)
		}
		// nothing after the handshake was delivered, either way
		for _, x := range []map[string]any{o, l} {
			if d, _ := x["resp_delivered"].(float64); d >= size/2 {
				t.Errorf("port %v: %v response bytes delivered: %v", port, d, x)
			}
		}
		// bypassed_bytes counts the streams past the handshake by
		// sequence numbers (DirStats.Bypassed): live, where the kernel
		// cut the packets, as with -r; and the response is in resp_bytes
		ob, _ := o["bypassed_bytes"].(float64)
		lb, _ := l["bypassed_bytes"].(float64)
		if ob < size || lb != ob {
			t.Errorf("port %v: bypassed_bytes offline %v (want at least %d), live %v (want the same)", port, ob, size, lb)
		}
		if rb, _ := o["resp_bytes"].(float64); rb < size {
			t.Errorf("port %v: resp_bytes %v, want at least the response's %d", port, rb, size)
		}
		offBypassed += ob
		liveBypassed += lb
	}
	var total float64
	for _, l := range live {
		op, _ := l["orig_pkts"].(float64)
		rp, _ := l["resp_pkts"].(float64)
		total += op + rp
	}
	// drop mode (bpf.BypassDrop): the kernel dropped the packets past the
	// handshake, counting them, and passed only SYN/FIN/RST (and one a
	// second) cut; the packet counts above, equal to offline, include
	// what it counted (reassembly.Conn.AddUnseen at the close)
	t.Logf("kernel dropped and counted %d of %v packets, passed %d cut: %.1f per connection passed whole (the handshake's)", dropped, total, cut, (total-float64(cut)-float64(dropped))/n)
	if kconns != n || float64(dropped) < float64(n)*minPkts || float64(dropped) > total {
		t.Errorf("kernel dropped %d packets of %d connections, want at least %v (and at most %v) of %d", dropped, kconns, float64(n)*minPkts, total, n)
	}
	if cut > 4*n {
		t.Errorf("kernel passed %d packets cut, want only the FIN/RST (and one per direction a second)", cut)
	}

	// item 7: handshakes by version, bypassed connections and bytes, the
	// same live and offline
	for name, mm := range map[string]map[string]float64{"offline": offMetrics, "live": liveMetrics} {
		if mm == nil {
			t.Errorf("%s: metrics not scraped", name)
			continue
		}
		bypassedBytes := offBypassed
		if name == "live" {
			bypassedBytes = liveBypassed
		}
		for k, want := range map[string]float64{
			"fastsniff_tls_connections_total":          n,
			"fastsniff_tls_handshakes_tls12_total":     n / 2,
			"fastsniff_tls_handshakes_tls13_total":     n / 2,
			"fastsniff_tls_handshakes_tls11_total":     0,
			"fastsniff_tls_established_total":          n,
			"fastsniff_tls_logged_total":               n,
			"fastsniff_tls_bypassed_connections_total": n,
			"fastsniff_tls_bypassed_bytes_total":       bypassedBytes,
			"fastsniff_connections_active":             0,
		} {
			if got, ok := mm[k]; !ok || got != want {
				t.Errorf("%s: %s = %v (present %v), want %v", name, k, got, ok, want)
			}
		}
	}
	if liveMetrics != nil && liveMetrics["fastsniff_bpf_bypassed_total"] != float64(cut) {
		t.Errorf("fastsniff_bpf_bypassed_total %v, the summary says %d", liveMetrics["fastsniff_bpf_bypassed_total"], cut)
	}
	if liveMetrics != nil && liveMetrics["fastsniff_bpf_bypass_dropped_total"] != float64(dropped) {
		t.Errorf("fastsniff_bpf_bypass_dropped_total %v, the summary says %d", liveMetrics["fastsniff_bpf_bypass_dropped_total"], dropped)
	}
	if offBypassed < n*size {
		t.Errorf("offline: %v bypassed bytes, want at least %d", offBypassed, n*size)
	}
}
