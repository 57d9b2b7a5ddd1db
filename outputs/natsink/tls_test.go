package natsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/outputs/sink"
)

// writeCert writes a CA (ca.pem) and a certificate for 127.0.0.1 it
// signed (cert.pem, key.pem) to dir; a second call gives another CA.
func writeCert(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLS: --nats-tls-ca verifies the server; records go over TLS, and a
// server whose certificate the CA did not sign gets none.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCert(t, dir)
	url := strings.Replace(server(t, "--tls", "--tlscert", cert, "--tlskey", key), "nats://", "tls://", 1)
	s, err := Open(Config{URLs: []string{url}, Sensor: "tls", TLSCA: ca, SpoolDir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	s.Append(sink.Conn, lines(0, 100))
	if err := s.Close(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Acked != 100 {
		t.Fatalf("over TLS: %+v", st)
	}
	other := t.TempDir()
	otherCA, _, _ := writeCert(t, other)
	s, err = Open(Config{URLs: []string{url}, Sensor: "tls", TLSCA: otherCA, SpoolDir: filepath.Join(other, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	s.Append(sink.Conn, lines(0, 10))
	var ue *UnackedError
	if err := s.Close(500 * time.Millisecond); !errors.As(err, &ue) || ue.N != 10 {
		t.Fatalf("with another CA: %v, want 10 unacked", err)
	}
	if _, err := ConnOptions("", cert+".missing"); err == nil {
		t.Error("no error for a missing CA file")
	}
	if _, err := ConnOptions("", key); err == nil {
		t.Error("no error for a CA file without a certificate")
	}
}
