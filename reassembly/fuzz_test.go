package reassembly

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// FuzzTable feeds arbitrary segment sequences (8 bytes each: side, flags,
// sequence and ACK offsets, length) over three 4-tuples and checks that
// the Table never panics, never delivers bytes the peer has not ACKed
// without flagging them, delivers every offset exactly once in order, and
// stays within its memory limits; that payloads lent under leases give
// the same streams as copied ones; and that holding half-open connections
// in compact form changes nothing a Handler sees.
func FuzzTable(f *testing.F) {
	f.Add([]byte("\x00\x02\x00\x00\x00\x00\x00\x00\x01\x12\x00\x00\x00\x01\x00\x00\x00\x18\x00\x01\x00\x01\x10\x00\x01\x10\x00\x01\x00\x11\x00\x00"))
	f.Add([]byte("\x00\x18\x00\x05\x00\x00\x20\x00\x01\x10\x00\x00\x00\x30\x00\x00\x00\x14\x00\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		plain := fuzzRun(t, in, false, nil)
		unlimited := func(c *Config) { c.MaxConns, c.MaxHalfOpen = 1<<20, 1<<20 }
		compact := recordStrings(fuzzRun(t, in, false, unlimited))
		full := recordStrings(fuzzRun(t, in, false, func(c *Config) { unlimited(c); c.noHalfOpen = true }))
		if !slices.Equal(compact, full) {
			t.Fatalf("half-open in compact form:\n%s\nwithout:\n%s", compact, full)
		}
		if len(in) > 0 && in[0]&0x40 == 0 {
			// the same segments with leased payloads, each lease ended
			// a few segments later and its buffer written over: the
			// streams must be the same
			leased := fuzzRun(t, in, true, nil)
			if len(leased.conns) != len(plain.conns) {
				t.Fatalf("leased: %d connections, copied: %d", len(leased.conns), len(plain.conns))
			}
			for i, c := range plain.conns {
				for d := range c.streams {
					if string(c.streams[d]) != string(leased.conns[i].streams[d]) {
						t.Fatalf("connection %d dir %d: leased payloads delivered other bytes", i, d)
					}
				}
			}
		}
	})
}

// recordStrings renders every connection a recorder saw, sorted by ID.
func recordStrings(r *recorder) []string {
	var out []string
	for _, c := range r.conns {
		out = append(out, fmt.Sprintf("%+v", *c))
	}
	slices.Sort(out)
	return out
}

// fuzzRun is one FuzzTable run over in; with lease, every payload is
// copied into a buffer lent under its own lease, ended (and the buffer
// scribbled over) three segments later. mod, if not nil, changes the
// Config.
func fuzzRun(t *testing.T, in []byte, lease bool, mod func(*Config)) *recorder {
	cfg := Config{MaxBuffer: 32 << 10, MaxConnBuffer: 8 << 10, MaxConnSegments: 16, MaxConns: 2, MaxHalfOpen: 2, OneSidedBytes: 512}
	if len(in) > 0 && in[0]&0x80 != 0 {
		cfg.Overlap = OverlapLast
	}
	if mod != nil {
		mod(&cfg)
	}
	r := newRecorder()
	var tb *Table
	r.checks = func(c *Conn, d Dir, x Data) {
		if x.Unacked || tb.cfg.Delivery != AckGated {
			return
		}
		if end := x.Offset + uint64(len(x.Bytes)); len(x.Bytes) > 0 && end > c.half[d].ackedOff() {
			panic(fmt.Sprintf("delivered up to %d, ACKed only to %d, not flagged", end, c.half[d].ackedOff()))
		}
	}
	tb = NewTable(cfg, r)
	payload := make([]byte, 4096)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	const lag = 3
	var lent [lag + 1][]byte
	for i := 0; i+8 <= len(in); i += 8 {
		b := in[i : i+8]
		sc := defScript()
		if in[0]&0x20 != 0 { // IPv6 (half-open ones keep their addresses apart)
			sc.cli, sc.srv = netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[2001:db8::2]:80")
		}
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), uint16(40000+int(b[0]&3)))
		from := byte('c')
		if b[0]&4 != 0 {
			from = 's'
		}
		s := sc.seg(pkt{from: from, seq: uint32(binary.BigEndian.Uint16(b[2:])), ack: uint32(binary.BigEndian.Uint16(b[4:]))})
		s.Flags = Flags(b[1])
		if b[6]&0x10 != 0 {
			s.VLANs.Push(10) // one side tagged: a join across VLANs
		}
		if b[6]&0x20 != 0 {
			s.Tunnel = 7 // another tunnel: another connection
		}
		s.TS = epoch0 + int64(i)*int64(b[7]&0x3f)*1e7
		n := int(binary.BigEndian.Uint16(b[6:]) & 0x0fff)
		off := int(b[0]>>3) * 64
		s.Payload = payload[off%len(payload) : off%len(payload)]
		if off+n <= len(payload) {
			s.Payload = payload[off : off+n]
		}
		if lease {
			k := i / 8
			if k >= lag {
				tb.EndLease(uint32(k - lag + 1))
				old := lent[(k-lag)%len(lent)]
				for j := range old {
					old[j] = 0xee
				}
			}
			buf := append(lent[k%len(lent)][:0], s.Payload...)
			lent[k%len(lent)] = buf
			s.Payload, s.Lease = buf, uint32(k+1)
		} else {
			// payload is never modified during a run: it may be stable
			s.Stable = len(in) > 0 && in[0]&0x40 != 0
		}
		tb.Feed(s)
		if st := tb.Stats(); st.Buffered > uint64(cfg.MaxBuffer)+4096 || st.Active-st.HalfOpen > uint64(cfg.MaxConns) || st.HalfOpen > uint64(cfg.MaxHalfOpen) {
			t.Fatalf("limits: buffered %d active %d half-open %d", st.Buffered, st.Active, st.HalfOpen)
		}
	}
	tb.Flush(ReasonFlush)
	for i := range payload {
		if payload[i] != byte(i*7) {
			t.Fatalf("the Table wrote into a fed payload at %d", i)
		}
	}
	st := tb.Stats()
	if st.Buffered != 0 || st.Active != 0 {
		t.Fatalf("after flush: buffered %d active %d", st.Buffered, st.Active)
	}
	for _, c := range r.conns {
		if c.closed != 1 {
			t.Fatalf("closed %d times", c.closed)
		}
	}
	return r
}
