package tlsinfo

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// Real handshakes: Go's crypto/tls client and server talk over an
// loopback TCP connection, every write is recorded with its direction, and the
// parser is fed the two recorded streams; what it reports is checked
// against what the client and the server report.

type chunk struct {
	d Dir
	b []byte
}

type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

type recConn struct {
	net.Conn
	r *recorder
	d Dir
}

func (c recConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	c.r.chunks = append(c.r.chunks, chunk{c.d, append([]byte(nil), b...)})
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn, Organization: []string{"fastsniff test"}},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1900000000, 0), DNSNames: []string{cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// exchange runs one connection and returns the recording and the
// client's view of it.
func exchange(t *testing.T, ccfg, scfg *tls.Config) (*recorder, tls.ConnectionState) {
	t.Helper()
	// loopback TCP, not net.Pipe: a TLS 1.3 server writes its tickets
	// while the client writes, which an unbuffered pipe deadlocks on
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	cl := tls.Client(recConn{a, r, FromClient}, ccfg)
	sv := tls.Server(recConn{b, r, FromServer}, scfg)
	done := make(chan error, 1)
	go func() {
		// echo what the client sends until it closes
		buf := make([]byte, 64)
		n, err := sv.Read(buf)
		if err == nil {
			_, err = sv.Write(buf[:n])
		}
		_, _ = io.Copy(io.Discard, sv)
		sv.Close()
		done <- err
	}()
	if _, err := cl.Write([]byte("hello over tls")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := io.ReadFull(cl, buf[:14]); err != nil {
		t.Fatal(err)
	}
	st := cl.ConnectionState()
	cl.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return r, st
}

// feed gives the recording to a parser in pieces of at most step bytes.
func feed(p *Parser, r *recorder, step int) *Conn {
	c := &Conn{}
	for _, ch := range r.chunks {
		for b := ch.b; len(b) > 0; {
			n := min(step, len(b))
			p.Feed(c, ch.d, b[:n], 0, 1)
			b = b[n:]
		}
	}
	return c
}

func TestRealHandshakes(t *testing.T) {
	srvCert := selfSigned(t, "server.test")
	cliCert := selfSigned(t, "client.test")
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(srvCert.Certificate[0])
	pool.AddCert(leaf)
	cache := tls.NewLRUClientSessionCache(8)
	tests := []struct {
		name      string
		version   uint16
		alpn      []string
		clientCrt bool
		resume    bool // run twice with a session cache, check the second
	}{
		{"tls12", tls.VersionTLS12, nil, false, false},
		{"tls13", tls.VersionTLS13, nil, false, false},
		{"tls12-alpn", tls.VersionTLS12, []string{"h2", "http/1.1"}, false, false},
		{"tls13-alpn", tls.VersionTLS13, []string{"h2", "http/1.1"}, false, false},
		{"tls12-client-cert", tls.VersionTLS12, nil, true, false},
		{"tls13-client-cert", tls.VersionTLS13, nil, true, false},
		{"tls12-resumed", tls.VersionTLS12, nil, false, true},
		{"tls13-resumed", tls.VersionTLS13, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := &tls.Config{ServerName: "server.test", RootCAs: pool, MinVersion: tc.version, MaxVersion: tc.version, NextProtos: tc.alpn}
			scfg := &tls.Config{Certificates: []tls.Certificate{srvCert}, MinVersion: tc.version, MaxVersion: tc.version, NextProtos: tc.alpn}
			if tc.clientCrt {
				ccfg.Certificates = []tls.Certificate{cliCert}
				scfg.ClientAuth = tls.RequireAnyClientCert
			}
			if tc.resume {
				ccfg.ClientSessionCache = cache
				exchange(t, ccfg, scfg)
			}
			r, st := exchange(t, ccfg, scfg)
			if tc.resume && !st.DidResume {
				t.Fatal("crypto/tls did not resume")
			}
			p := NewParser(Config{})
			whole := feed(p, r, 1<<30)
			for _, step := range []int{1, 3, 700} {
				if c := feed(NewParser(Config{}), r, step); c.Info != whole.Info || !bytes.Equal(c.Leaf, whole.Leaf) {
					t.Errorf("fed in pieces of %d bytes: %+v, whole: %+v", step, c.Info, whole.Info)
				}
			}
			i := &whole.Info
			if i.Version != st.Version || i.Cipher != st.CipherSuite || string(i.SNI()) != "server.test" {
				t.Errorf("version %#x cipher %#x sni %q, client says %#x %#x", i.Version, i.Cipher, i.SNI(), st.Version, st.CipherSuite)
			}
			wantALPN := st.NegotiatedProtocol
			if tc.version == tls.VersionTLS13 {
				wantALPN = "" // in the encrypted extensions
			}
			if string(i.ALPN()) != wantALPN {
				t.Errorf("next protocol %q, want %q", i.ALPN(), wantALPN)
			}
			var offered []string
			i.ClientALPN(func(b []byte) { offered = append(offered, string(b)) })
			if len(offered) != len(tc.alpn) || len(offered) > 0 && offered[0] != tc.alpn[0] {
				t.Errorf("client alpn %q, want %q", offered, tc.alpn)
			}
			if got := i.Flags&FlagResumed != 0; got != st.DidResume {
				t.Errorf("resumed %v, client says %v", got, st.DidResume)
			}
			if !i.Established() || !i.Complete() {
				t.Errorf("established %v complete %v (history %s)", i.Established(), i.Complete(), i.History())
			}
			tls12 := tc.version <= tls.VersionTLS12
			if wantLeaf := tls12 && !st.DidResume; (i.Flags&FlagCert != 0) != wantLeaf || wantLeaf && !bytes.Equal(whole.Leaf, srvCert.Certificate[0]) {
				t.Errorf("leaf seen %v (%d bytes), want %v", i.Flags&FlagCert != 0, len(whole.Leaf), wantLeaf)
			}
			if got := i.Flags&FlagClientCert != 0; got != (tc.clientCrt && tls12) {
				t.Errorf("client certificate %v", got)
			}
			if i.Flags&(FlagJA3|FlagJA3S) != FlagJA3|FlagJA3S || i.JA4[0] != 't' {
				t.Errorf("fingerprints missing: %#x %s", i.Flags, i.JA4[:])
			}
			if s := p.Stats(); s.Conns != 1 || s.Established != 1 || s.Handshakes[VersionIndex(st.Version)] != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// exchangeForAllocs records one TLS 1.2 handshake with a certificate.
func exchangeForAllocs(t *testing.T) (*recorder, tls.ConnectionState) {
	srvCert := selfSigned(t, "server.test")
	ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	scfg := &tls.Config{Certificates: []tls.Certificate{srvCert}, MaxVersion: tls.VersionTLS12}
	return exchange(t, ccfg, scfg)
}
