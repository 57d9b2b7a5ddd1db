package tlsinfo

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
)

// seen is one connection's result, as the tests compare it.
type seen struct {
	client, server string // addr:port
	info           Info
	leaf           []byte
}

// runCapture feeds a capture through the offline pipeline (one worker)
// into a Parser and returns every connection's Info, in close order.
func runCapture(t testing.TB, path string, cfg Config) ([]seen, Stats) {
	t.Helper()
	p := NewParser(cfg)
	var out []seen
	h := reassembly.Funcs{
		OnOpen: func(c *reassembly.Conn) { c.Ctx = &Conn{} },
		OnSent: func(c *reassembly.Conn, d reassembly.Data) {
			p.Feed(c.Ctx.(*Conn), FromClient, d.Bytes, d.Gap, d.TS)
		},
		OnReceived: func(c *reassembly.Conn, d reassembly.Data) {
			p.Feed(c.Ctx.(*Conn), FromServer, d.Bytes, d.Gap, d.TS)
		},
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			cs := c.Ctx.(*Conn)
			if cs.IsTLS() {
				out = append(out, seen{client: c.Client().String(), server: c.Server().String(), info: cs.Info, leaf: append([]byte(nil), cs.Leaf...)})
			}
			p.Reset(cs)
		},
	}
	cfgo := offline.Config{Workers: 1, Handler: func(int) reassembly.Handler { return h }}
	if _, err := offline.Run(context.Background(), cfgo, path); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out, p.Stats()
}

// describe prints an Info in one line for test failures and dumps.
func describe(s *seen) string {
	i := &s.info
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s flags=%#x hv=%#04x v=%s cipher=%s curve=%s sni=%q alpn=%q hist=%s ch=%d sh=%d",
		s.client, s.server, i.Flags, i.HelloVersion, VersionName(i.Version), CipherName(i.Cipher), CurveName(i.Curve),
		i.SNI(), i.ALPN(), i.History(), i.ClientHellos, i.ServerHellos)
	if i.Flags&FlagJA3 != 0 {
		fmt.Fprintf(&b, " ja3=%s ja4=%s", hex.EncodeToString(i.JA3[:]), i.JA4[:])
	}
	if i.Flags&FlagJA4Retry != 0 {
		fmt.Fprintf(&b, " ja4retry=%s", i.JA4Retry[:])
	}
	if i.Flags&FlagJA3S != 0 {
		fmt.Fprintf(&b, " ja3s=%s", hex.EncodeToString(i.JA3S[:]))
	}
	fmt.Fprintf(&b, " resumed=%v est=%v complete=%v leaf=%d", i.Flags&FlagResumed != 0, i.Established(), i.Complete(), len(s.leaf))
	return b.String()
}

// TestDumpCorpus prints what the parser sees in every bundled capture
// (run with TLSINFO_DUMP=1 -v; a debugging aid, it asserts nothing).
func TestDumpCorpus(t *testing.T) {
	if os.Getenv("TLSINFO_DUMP") == "" {
		t.Skip("set TLSINFO_DUMP=1 to print the corpus")
	}
	files, _ := filepath.Glob("testdata/corpus/*.pcap*")
	for _, f := range files {
		conns, _ := runCapture(t, f, Config{})
		for i := range conns {
			t.Logf("%s: %s", filepath.Base(f), describe(&conns[i]))
		}
	}
}
