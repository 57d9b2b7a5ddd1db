package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// uidsOf returns the uids of a JSON log's lines.
func uidsOf(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		uids[l.UID] = true
	}
	return uids
}

// With the HTTP and TLS logs on, a connection's service in the conn log
// names "http" exactly when the HTTP log has lines of it, and "ssl"
// exactly when the TLS log has (both for TLS inside an HTTP CONNECT), on
// every bundled capture and the TLS corpus; without those logs there is
// no service field.
func TestServiceMatchesLogs(t *testing.T) {
	caps, _ := filepath.Glob(filepath.Join(seedPcapDir, "*.pcap*"))
	tls, _ := filepath.Glob("../../tlsinfo/testdata/corpus/*.pcap*")
	caps = append(caps, tls...)
	if len(caps) < 70 {
		t.Fatalf("%d captures", len(caps))
	}
	count := map[string]int{}
	for _, pcap := range caps {
		dir := t.TempDir()
		conn, httpLog, sslLog := filepath.Join(dir, "conn.json"), filepath.Join(dir, "http.json"), filepath.Join(dir, "ssl.json")
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"-r", pcap, "--workers", "2", "-q", "--conn-log", conn, "--http-log", httpLog, "--ssl-log", sslLog}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", pcap, code, stderr.String())
		}
		hu, su := uidsOf(t, httpLog), uidsOf(t, sslLog)
		for _, r := range readConnLog(t, conn) {
			var want []string
			if hu[r.UID] {
				want = append(want, "http")
			}
			if su[r.UID] {
				want = append(want, "ssl")
			}
			if got := strings.Join(want, ","); r.Service != got {
				t.Errorf("%s: %s %s:%d: service %q, want %q", filepath.Base(pcap), r.UID, r.RespH, r.RespP, r.Service, got)
			}
			count[r.Service]++
		}
	}
	t.Logf("services: %v", count)
	if count["http"] < 50 || count["ssl"] < 20 || count["http,ssl"] < 1 || count[""] < 500 {
		t.Errorf("services %v: too few of a kind to say much", count)
	}
	// no HTTP or TLS log: no service
	out := filepath.Join(t.TempDir(), "conn.json")
	if code := run(context.Background(), []string{"-r", filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap"), "-q", "--conn-log", out}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	recs := readConnLog(t, out)
	if len(recs) == 0 || slices.ContainsFunc(recs, func(r connlog.Record) bool { return r.Service != "" }) {
		t.Errorf("a service without the HTTP and TLS logs: %+v", recs)
	}
}
