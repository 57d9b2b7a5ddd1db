// Command tlsgen writes a capture of real TLS connections for benchmarks:
// Go's crypto/tls client and server talk over loopback (half TLS 1.2 with
// a certificate, half TLS 1.3), each client sends a request and the
// server answers with -size encrypted bytes; the connections are written
// interleaved (package tlsinfo/tlstest).
//
//	tlsgen -n 64 -size 1048576 -o tls.pcap
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"

	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

func main() {
	n := flag.Int("n", 64, "connections")
	size := flag.Int("size", 1<<20, "response bytes per connection")
	out := flag.String("o", "", "output pcap `FILE`")
	flag.Parse()
	if *out == "" || *n < 1 || *size < 0 {
		fmt.Fprintln(os.Stderr, "usage: tlsgen -o FILE [-n N] [-size BYTES]")
		os.Exit(2)
	}
	if err := run(*n, *size, *out); err != nil {
		fmt.Fprintln(os.Stderr, "tlsgen:", err)
		os.Exit(1)
	}
}

func run(n, size int, out string) error {
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		return err
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
			return err
		}
		recs = append(recs, r)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := tlstest.WritePcapInterleaved(f, recs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
