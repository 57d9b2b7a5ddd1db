package ssllog

import (
	"context"
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// tlsHeavy writes a capture of n real TLS connections (half TLS 1.2, half
// TLS 1.3), each answering a request with size encrypted bytes.
func tlsHeavy(b *testing.B, n, size int) (string, int64) {
	b.Helper()
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		b.Fatal(err)
	}
	var recs []*tlstest.Recording
	for i := range n {
		v := uint16(tls.VersionTLS12)
		if i%2 == 1 {
			v = tls.VersionTLS13
		}
		ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MaxVersion: v, NextProtos: []string{"h2", "http/1.1"}}
		scfg := &tls.Config{Certificates: []tls.Certificate{srv}, MaxVersion: v}
		r, err := tlstest.Exchange(ccfg, scfg, []byte("GET /big HTTP/1.1\r\nHost: server.test\r\n\r\n"), size)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, r)
	}
	path := filepath.Join(b.TempDir(), "tls-heavy.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := tlstest.WritePcap(f, recs); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return path, st.Size()
}

// cpuTime is the process's user+system CPU time in ns: on a shared
// machine it moves less than the wall clock.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkOffline reads a TLS-heavy capture with one worker: a
// connection log alone (plain reassembly), then with the TLS log wrapped
// around it, bypass on (the default) and off.
func BenchmarkOffline(b *testing.B) {
	path, size := tlsHeavy(b, 128, 512<<10)
	run := func(b *testing.B, handler func() (reassembly.Handler, func() error)) {
		b.SetBytes(size)
		b.ReportAllocs()
		cpu0 := cpuTime()
		defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
		for range b.N {
			h, done := handler()
			cfg := offline.Config{Workers: 1, Handler: func(int) reassembly.Handler { return h }}
			if _, err := offline.Run(context.Background(), cfg, path); err != nil {
				b.Fatal(err)
			}
			if err := done(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("conn-log", func(b *testing.B) {
		run(b, func() (reassembly.Handler, func() error) {
			cl := connlog.New(io.Discard, connlog.Options{})
			return cl.Handler(), cl.Close
		})
	})
	for _, bypass := range []bool{true, false} {
		name := "conn-log+ssl-log"
		if !bypass {
			name += "-no-bypass"
		}
		b.Run(name, func(b *testing.B) {
			run(b, func() (reassembly.Handler, func() error) {
				cl := connlog.New(io.Discard, connlog.Options{})
				sl := New(io.Discard, Options{Bypass: bypass})
				h := sl.Handler(cl.Handler())
				return h, func() error {
					if err := sl.Close(); err != nil {
						return err
					}
					return cl.Close()
				}
			})
		})
	}
}
