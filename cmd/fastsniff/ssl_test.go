package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// sslCLI runs fastsniff on a capture of the TLS corpus (bundled with
// package tlsinfo) with --ssl-log and --conn-log, and returns the lines.
func sslCLI(t *testing.T, pcap string, args ...string) ([]map[string]any, []connlog.Record, []map[string]any) {
	t.Helper()
	dir := t.TempDir()
	sslPath, connPath := filepath.Join(dir, "ssl.log"), filepath.Join(dir, "conn.log")
	args = append([]string{"-r", filepath.Join("../../tlsinfo/testdata/corpus", pcap), "--ssl-log", sslPath, "--conn-log", connPath, "--workers", "2", "-q"}, args...)
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
				if n, _ := raw[0]["bypassed_bytes"].(float64); n <= 0 || l["bypassed_bytes"] != n {
					t.Errorf("bypassed bytes: conn %v, ssl %v", raw[0]["bypassed_bytes"], l["bypassed_bytes"])
				}
			}
		})
	}
}
