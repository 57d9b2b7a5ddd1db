package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// TestSSLLogOpenSSL: handshakes between openssl s_client and s_server
// (another TLS stack than Go's), relayed through a recording proxy on
// loopback, written as a capture and read by fastsniff: each line says
// what s_client reported (version, cipher, resumption, ALPN, group).
func TestSSLLogOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("needs openssl (apt-get install openssl)")
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeCert(t, "server.test", certFile, keyFile)
	ccertFile, ckeyFile := filepath.Join(dir, "cc.pem"), filepath.Join(dir, "ck.pem")
	writeCert(t, "client.test", ccertFile, ckeyFile)
	names := opensslNames(t)

	// one s_server for every case, on a free loopback port
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command("openssl", "s_server", "-accept", addr, "-cert", certFile, "-key", keyFile, "-alpn", "h2", "-www", "-quiet", "-verify", "1")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("s_server does not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	sess := filepath.Join(dir, "sess")
	cases := []struct {
		name string
		args []string
	}{
		{"tls12-alpn", []string{"-tls1_2", "-alpn", "h2", "-sess_out", sess + "12"}},
		{"tls12-resumed", []string{"-tls1_2", "-sess_in", sess + "12"}},
		{"tls13-alpn", []string{"-tls1_3", "-alpn", "h2,http/1.1", "-sess_out", sess + "13"}},
		{"tls13-resumed", []string{"-tls1_3", "-sess_in", sess + "13"}},
		{"tls12-client-cert", []string{"-tls1_2", "-cert", ccertFile, "-key", ckeyFile}},
	}
	var recs []*tlstest.Recording
	var outs []string
	for _, tc := range cases {
		p, err := tlstest.NewProxy(addr)
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"s_client", "-connect", p.Addr(), "-servername", "server.test", "-ign_eof"}, tc.args...)
		cl := exec.Command("openssl", args...)
		cl.Stdin = strings.NewReader("GET / HTTP/1.0\r\n\r\n")
		out, err := cl.CombinedOutput()
		if err != nil {
			p.Close()
			t.Fatalf("%s: s_client: %v: %s", tc.name, err, out)
		}
		r, err := p.Wait()
		if err != nil {
			t.Fatalf("%s: proxy: %v", tc.name, err)
		}
		recs = append(recs, r)
		outs = append(outs, string(out))
	}
	path := filepath.Join(dir, "openssl.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlstest.WritePcap(f, recs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lines, _, _ := sslCLI(t, path)
	byPort := map[float64]map[string]any{}
	for _, l := range lines {
		byPort[l["id.orig_p"].(float64)] = l
	}
	session := regexp.MustCompile(`(New|Reused), (TLSv1\.[23]), Cipher is (\S+)`)
	for i, tc := range cases {
		l, out := byPort[float64(10000+i)], outs[i]
		m := session.FindStringSubmatch(out)
		if l == nil || m == nil {
			t.Fatalf("%s: line %v; s_client said %s", tc.name, l, out)
		}
		t.Logf("%s: s_client %s %s %s; line %v %v %v %v %v", tc.name, m[1], m[2], m[3], l["version"], l["cipher"], l["resumed"], l["curve"], l["next_protocol"])
		ver := map[string]string{"TLSv1.2": "TLSv12", "TLSv1.3": "TLSv13"}[m[2]]
		if l["version"] != ver || l["cipher"] != names[m[3]] || l["resumed"] != (m[1] == "Reused") || l["established"] != true {
			t.Errorf("%s: %v; s_client: %s %s %s (%s)", tc.name, l, m[1], m[2], m[3], names[m[3]])
		}
		if a := regexp.MustCompile(`ALPN protocol: (\S+)`).FindStringSubmatch(out); a != nil && ver == "TLSv12" && l["next_protocol"] != a[1] {
			t.Errorf("%s: next_protocol %v, s_client %s", tc.name, l["next_protocol"], a[1])
		}
		if k := regexp.MustCompile(`Server Temp Key: (\w+)`).FindStringSubmatch(out); k != nil {
			if c, _ := l["curve"].(string); !strings.EqualFold(c, k[1]) && !(k[1] == "ECDH" && c != "") {
				t.Errorf("%s: curve %v, s_client %s", tc.name, l["curve"], k[1])
			}
		}
		if strings.HasPrefix(tc.name, "tls12") && m[1] == "New" && l["subject"] != "CN=server.test,O=fastsniff test" {
			t.Errorf("%s: subject %v", tc.name, l["subject"])
		}
		if got := l["client_cert"] == true; got != (tc.name == "tls12-client-cert") {
			t.Errorf("%s: client_cert %v", tc.name, got)
		}
	}
	if !strings.Contains(outs[1], "Reused") || !strings.Contains(outs[3], "Reused") {
		t.Errorf("openssl did not resume: %s\n%s", outs[1], outs[3])
	}
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	c, err := tlstest.SelfSigned(cn)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// opensslNames maps OpenSSL's cipher names to the IANA names
// (openssl ciphers -stdname).
func opensslNames(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("openssl", "ciphers", "-stdname", "ALL:COMPLEMENTOFALL").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range bytes.Split(out, []byte("\n")) {
		f := strings.Fields(string(l))
		if len(f) >= 3 && f[1] == "-" {
			m[f[2]] = f[0]
		}
	}
	return m
}
