package tlsinfo

import (
	"bytes"
	"testing"
)

// handshakeRecords re-frames the client's first flight of a recording:
// the records' handshake bytes are cut into records of at most n bytes
// (record-layer fragmentation, which no corpus capture has for a hello).
func reframe(b []byte, n int) []byte {
	var out []byte
	for len(b) >= 5 {
		l := int(b[3])<<8 | int(b[4])
		if 5+l > len(b) {
			break
		}
		typ, ver, body := b[0], b[1:3], b[5:5+l]
		if typ != ctHandshake {
			out = append(out, b[:5+l]...)
		} else {
			for len(body) > 0 {
				k := min(n, len(body))
				out = append(out, typ, ver[0], ver[1], byte(k>>8), byte(k))
				out = append(out, body[:k]...)
				body = body[k:]
			}
		}
		b = b[5+l:]
	}
	return append(out, b...)
}

func TestFraming(t *testing.T) {
	r, _ := exchangeForAllocs(t)
	want := feed(NewParser(Config{}), r, 1<<30)
	first := r.chunks[0].b // the ClientHello record
	if first[0] != ctHandshake || first[5] != hsClientHello {
		t.Fatalf("first chunk is not a ClientHello: % x", first[:8])
	}
	clone := func() *recorder {
		c := &recorder{}
		for _, ch := range r.chunks {
			c.chunks = append(c.chunks, chunk{ch.d, append([]byte(nil), ch.b...)})
		}
		return c
	}
	tests := []struct {
		name  string
		edit  func(*recorder)
		cfg   Config
		check func(t *testing.T, c *Conn, s Stats)
	}{
		{"hello in 7-byte records", func(r *recorder) { r.chunks[0].b = reframe(r.chunks[0].b, 7) }, Config{},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info != want.Info {
					t.Errorf("%+v\nwant %+v", c.Info, want.Info)
				}
			}},
		{"server flight in 100-byte records", func(r *recorder) { r.chunks[1].b = reframe(r.chunks[1].b, 100) }, Config{},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info != want.Info || !bytes.Equal(c.Leaf, want.Leaf) {
					t.Errorf("%+v\nwant %+v", c.Info, want.Info)
				}
			}},
		{"hello over the limit", nil, Config{MaxMessage: 64},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info.Flags&FlagTooLarge == 0 || c.Info.Flags&FlagClientHello != 0 || s.TooLarge < 1 {
					t.Errorf("flags %#x, stats %+v", c.Info.Flags, s)
				}
				// the record framing held: the handshake still completes
				if !c.Info.Established() {
					t.Errorf("not established: %s", c.Info.History())
				}
			}},
		{"certificate over the limit", nil, Config{MaxMessage: 200},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info.Flags&FlagCertTruncated == 0 || len(c.Leaf) != 0 {
					t.Errorf("flags %#x, leaf %d bytes", c.Info.Flags, len(c.Leaf))
				}
			}},
		{"corrupt record header", func(r *recorder) { r.chunks[1].b[0] = 99 }, Config{},
			func(t *testing.T, c *Conn, s Stats) {
				// the server's first header is not TLS: its direction
				// is scanned as a prelude and nothing is found
				if c.Info.Flags&FlagServerHello != 0 || c.Info.Flags&FlagClientHello == 0 {
					t.Errorf("flags %#x", c.Info.Flags)
				}
			}},
		{"corrupt later header", func(r *recorder) {
			b := r.chunks[1].b
			n := 5 + (int(b[3])<<8 | int(b[4]))
			if n < len(b) {
				b[n+1] = 9 // the second record's version
			} else {
				r.chunks[2].b[1] = 9
			}
		}, Config{},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info.Flags&FlagDesync == 0 || s.Desyncs != 1 || c.Info.Established() {
					t.Errorf("flags %#x, stats %+v", c.Info.Flags, s)
				}
			}},
		{"alert", func(r *recorder) {
			r.chunks = append(r.chunks[:1], chunk{FromServer, []byte{ctAlert, 3, 3, 0, 2, 2, 40}})
		}, Config{},
			func(t *testing.T, c *Conn, s Stats) {
				if c.Info.Flags&FlagAlert == 0 || AlertName(c.Info.LastAlert) != "handshake_failure" || string(c.Info.History()) != "Cl" {
					t.Errorf("flags %#x alert %d history %s", c.Info.Flags, c.Info.LastAlert, c.Info.History())
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := clone()
			if tc.edit != nil {
				tc.edit(rr)
			}
			for _, step := range []int{1, 13, 1 << 30} {
				p := NewParser(tc.cfg)
				c := feed(p, rr, step)
				tc.check(t, c, p.Stats())
			}
		})
	}
}

// TestGap: a gap in a direction abandons it (its framing is lost); a gap
// before anything was seen does not.
func TestGap(t *testing.T) {
	r, _ := exchangeForAllocs(t)
	p := NewParser(Config{})
	c := &Conn{}
	p.Feed(c, FromClient, r.chunks[0].b[:20], 0, 1)
	p.Feed(c, FromClient, r.chunks[0].b[30:], 10, 2)
	if c.Info.Flags&FlagDesync == 0 || c.dir[FromClient].st != stDead {
		t.Errorf("flags %#x", c.Info.Flags)
	}
	c = &Conn{}
	p.Feed(c, FromClient, r.chunks[0].b, 100, 3) // a hole before the first byte
	if c.Info.Flags&FlagClientHello == 0 {
		t.Errorf("hello after a leading gap not read: %#x", c.Info.Flags)
	}
}
