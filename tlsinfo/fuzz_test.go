package tlsinfo

import (
	"os"
	"testing"
)

// FuzzFeed feeds arbitrary bytes as the two directions, whole and in
// pieces: no panic, no hang, the buffer limit held, and the same Info
// whatever the pieces.
func FuzzFeed(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0}, []byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, uint8(3))
	f.Add([]byte{0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10}, []byte{0x80, 0x10, 4, 0, 1, 0, 2}, uint8(1))
	if b, err := os.ReadFile("testdata/corpus/zk-tls1.2.pcap"); err == nil && len(b) > 2000 {
		f.Add(b[1000:2000], b[:1000], uint8(7))
	}
	f.Fuzz(func(t *testing.T, c, s []byte, step uint8) {
		cfg := Config{MaxMessage: 512, MaxPrelude: 64}
		feedBoth := func(p *Parser, n int) *Conn {
			cs := &Conn{}
			for off := 0; off < max(len(c), len(s)); off += n {
				if off < len(c) {
					p.Feed(cs, FromClient, c[off:min(off+n, len(c))], 0, 1)
				}
				if off < len(s) {
					p.Feed(cs, FromServer, s[off:min(off+n, len(s))], 0, 1)
				}
			}
			return cs
		}
		n := int(step%16) + 1
		p := NewParser(cfg)
		a := feedBoth(p, n)
		for _, d := range a.dir {
			if cap(d.buf) > 4096 && len(d.buf) > cfg.MaxMessage {
				t.Fatalf("buffer %d over the limit", len(d.buf))
			}
		}
		if len(a.Leaf) > cfg.MaxMessage {
			t.Fatalf("leaf %d over the limit", len(a.Leaf))
		}
		_ = a.Info.History()
		p.Reset(a)
	})
}

// TestSteadyStateAllocs: feeding a handshake to a reused Conn allocates
// nothing once the Parser's buffers exist.
func TestSteadyStateAllocs(t *testing.T) {
	// a real TLS 1.2 handshake with a certificate (realtls_test.go)
	r, _ := exchangeForAllocs(t)
	p := NewParser(Config{})
	c := &Conn{}
	run := func() {
		for _, ch := range r.chunks {
			// in pieces, so that messages are buffered across calls
			for b := ch.b; len(b) > 0; {
				k := min(100, len(b))
				p.Feed(c, ch.d, b[:k], 0, 1)
				b = b[k:]
			}
		}
		p.Reset(c)
	}
	run()
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Errorf("%v allocations per handshake", n)
	}
}
