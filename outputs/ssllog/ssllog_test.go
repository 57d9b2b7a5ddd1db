package ssllog

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/fastsniff/fastsniff/tlsinfo"
)

// corpus is the TLS corpus bundled with package tlsinfo (attribution in
// its README.md and MANIFEST.tsv).
const corpus = "../../tlsinfo/testdata/corpus/"

// runLog reads a capture through the offline pipeline with an ssl.log and
// returns its lines, keyed by "orig_h:orig_p".
func runLog(t *testing.T, file string, opt Options, workers int) (map[string]map[string]any, Stats) {
	t.Helper()
	var out bytes.Buffer
	log := New(&out, opt)
	cfg := offline.Config{Workers: workers, Handler: func(int) reassembly.Handler { return log.Handler(nil) }}
	if _, err := offline.Run(context.Background(), cfg, filepath.Join(corpus, file)); err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	lines := map[string]map[string]any{}
	for _, l := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s: bad JSON line %s: %v", file, l, err)
		}
		k := m["id.orig_h"].(string) + ":" + jsonNum(m["id.orig_p"])
		lines[k] = m
	}
	return lines, log.Stats()
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestZeekBaselines compares lines with Zeek's own ssl.log and x509.log
// baselines for the same captures (expected/ in the shared corpus; the
// values are copied here). Differences, explained in docs/CORPUS.md:
// resumed for the 0x7e01 experiment (Zeek flags an echoed session ID).
func TestZeekBaselines(t *testing.T) {
	tests := []struct {
		file, client string
		opt          Options
		want         map[string]any
	}{
		{"zk-tls-conn-with-extensions.pcap", "192.168.1.105:62045", Options{}, map[string]any{
			"id.resp_h": "74.125.224.79", "id.resp_p": 443.0,
			"version": "TLSv10", "cipher": "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "curve": "secp256r1",
			"server_name": "ssl.gstatic.com", "resumed": false, "established": true, "ssl_history": "CsxknGIti",
			"subject":          "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US",
			"issuer":           "CN=Google Internet Authority,O=Google Inc,C=US",
			"not_valid_before": 1334102677.0, "not_valid_after": 1365639277.0,
		}},
		{"zk-tls1.2.pcap", "10.0.0.80:56637", Options{}, map[string]any{
			"version": "TLSv12", "cipher": "TLS_RSA_WITH_RC4_128_MD5", "resumed": false, "established": true,
			"ssl_history":      "CsxnGIi",
			"subject":          "CN=*.taleo.net,OU=Comodo PremiumSSL Wildcard,OU=Web,O=Taleo Inc.,street=4140 Dublin Boulevard,street=Suite 400,L=Dublin,ST=CA,postalCode=94568,C=US",
			"issuer":           "CN=COMODO High-Assurance Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Greater Manchester,C=GB",
			"not_valid_before": 1304467200.0, "not_valid_after": 1467676799.0,
		}},
		{"zk-certificate-request-failed.pcap", "fd42:496a:d659:bb85::1:52464", Options{}, map[string]any{
			"version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "curve": "x25519",
			"resumed": false, "last_alert": "handshake_failure", "established": false, "ssl_history": "CsxkrnXGIl",
		}},
		{"zk-tls13-ech.pcap", "192.168.20.65:51066", Options{}, map[string]any{
			"version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256", "curve": "x25519",
			"server_name": "cloudflare-ech.com", "resumed": false, "established": true, "ssl_history": "CsiI",
		}},
		{"zk-hrr.pcap", "10.192.48.168:63564", Options{}, map[string]any{
			"version": "TLSv13", "cipher": "TLS_AES_256_GCM_SHA384", "curve": "secp256r1",
			"resumed": false, "established": true, "ssl_history": "CjiICs",
		}},
		{"zk-tls13_psk_succesfull.pcap", "192.168.178.80:54220", Options{}, map[string]any{
			"version": "TLSv13", "cipher": "TLS_CHACHA20_POLY1305_SHA256", "curve": "x25519",
			"resumed": true, "established": true, "ssl_history": "CsiI",
		}},
		{"zk-chrome-1250-tls-x25519-kyber.pcap", "0.0.51.217:13783", Options{}, map[string]any{
			"version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256", "curve": "X25519Kyber768Draft00",
			"server_name": "lh3.google.com", "resumed": false, "established": true, "ssl_history": "CsiI",
		}},
		{"zk-chrome-63.0.3211.0-canary-tls_experiment.pcap", "192.168.0.2:62873", Options{}, map[string]any{
			"version": "unknown-32257", "cipher": "TLS_AES_128_GCM_SHA256", "curve": "x25519",
			"server_name": "tls.ctf.network", "established": true, "ssl_history": "CsiI",
			"resumed": false, // Zeek: T (an echoed session ID; no PSK was accepted)
		}},
		// STARTTLS: TLS after the SMTP prelude
		{"zk-smtp-starttls.pcap", "192.168.4.149:54170", Options{}, map[string]any{
			"id.resp_p": 25.0, "version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "curve": "secp256r1",
			"resumed": false, "established": true, "ssl_history": "CsxknGIti",
		}},
		// its leaf certificate is longer than the default MaxMessage: flagged,
		// and read with a larger limit
		{"zk-tls-fragmented-handshake.pcap", "192.168.6.86:61454", Options{}, map[string]any{
			"version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "curve": "secp256r1",
			"server_name": "104.236.167.107", "resumed": false, "established": false, "ssl_history": "Csxkn",
			"subject": nil, "anomalies": []any{"cert_too_large"},
		}},
		{"zk-tls-fragmented-handshake.pcap", "192.168.6.86:61454", Options{TLS: tlsinfo.Config{MaxMessage: 1 << 20}}, map[string]any{
			"subject": "CN=Bro", "issuer": "CN=Bro", "anomalies": nil,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			lines, _ := runLog(t, tc.file, tc.opt, 1)
			l := lines[tc.client]
			if l == nil {
				t.Fatalf("no line for %s in %d lines", tc.client, len(lines))
			}
			for k, v := range tc.want {
				if got, ok := l[k]; !reflect.DeepEqual(got, v) || v == nil && ok {
					t.Errorf("%s: %v, want %v", k, got, v)
				}
			}
			if uid, _ := l["uid"].(string); len(uid) < 10 || uid[0] != 'C' {
				t.Errorf("uid %q", uid)
			}
		})
	}
}
