// Package tlstest makes real TLS traffic for tests and benchmarks: Go's
// crypto/tls client and server talk over a loopback TCP connection, every
// write of each side is recorded, and WritePcap turns recordings into a
// capture (Ethernet, IPv4, TCP with a three-way handshake, each write cut
// into MSS-sized segments, each acknowledged, FIN both ways) that the
// project's pipeline reads like any other.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// Chunk is one write: FromServer false for the client's.
type Chunk struct {
	FromServer bool
	Bytes      []byte
}

// Recording is one connection's writes in order, with what the client saw.
type Recording struct {
	Chunks []Chunk
	State  tls.ConnectionState
}

type recorder struct {
	mu     sync.Mutex
	chunks []Chunk
}

type recConn struct {
	net.Conn
	r      *recorder
	server bool
}

func (c recConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	c.r.chunks = append(c.r.chunks, Chunk{c.server, append([]byte(nil), b...)})
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

// SelfSigned returns an ECDSA P-256 certificate for cn, valid 2023-2030.
func SelfSigned(cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn, Organization: []string{"fastsniff test"}},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1900000000, 0), DNSNames: []string{cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Exchange runs one connection over loopback: the client sends request,
// the server answers with response bytes (zeros, encrypted), both close.
func Exchange(ccfg, scfg *tls.Config, request []byte, response int) (*Recording, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	b, err := ln.Accept()
	if err != nil {
		a.Close()
		return nil, err
	}
	r := &recorder{}
	cl := tls.Client(recConn{a, r, false}, ccfg)
	sv := tls.Server(recConn{b, r, true}, scfg)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, len(request))
		_, err := io.ReadFull(sv, buf)
		if err == nil {
			_, err = sv.Write(make([]byte, response))
		}
		_, _ = io.Copy(io.Discard, sv)
		sv.Close()
		done <- err
	}()
	if _, err := cl.Write(request); err != nil {
		cl.Close()
		return nil, err
	}
	if _, err := io.ReadFull(cl, make([]byte, response)); err != nil {
		cl.Close()
		return nil, err
	}
	st := cl.ConnectionState()
	cl.Close()
	if err := <-done; err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return &Recording{Chunks: r.chunks, State: st}, nil
}
