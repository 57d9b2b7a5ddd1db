package reassembly

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
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
		plain := fuzzRun(t, in, false, false, nil)
		unlimited := func(c *Config) { c.MaxConns, c.MaxHalfOpen = 1<<20, 1<<20 }
		compact := recordStrings(fuzzRun(t, in, false, false, unlimited))
		full := recordStrings(fuzzRun(t, in, false, false, func(c *Config) { unlimited(c); c.noHalfOpen = true }))
		if !slices.Equal(compact, full) {
			t.Fatalf("half-open in compact form:\n%s\nwithout:\n%s", compact, full)
		}
		if c, a := expiryRuns(t, in); !slices.Equal(c, a) {
			t.Fatalf("expire skipped below nextCheck:\n%s\non every clock advance:\n%s", c, a)
		}
		if seen, quiet := flushRuns(in); seen != quiet {
			t.Fatalf("counters with a Handler that sees half-open connections:\n%+v\nwith one that ignores them:\n%+v", seen, quiet)
		}
		if len(in) > 0 && in[0]&0x40 == 0 {
			// the same segments with leased payloads, each lease ended
			// a few segments later and its buffer written over: the
			// streams must be the same
			leased := fuzzRun(t, in, true, false, nil)
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

// expiryRuns feeds in to two Tables as expiryRun reads it, one that
// skips expire while nothing is due (Table.nextCheck) and one that runs
// it on every clock advance, and renders what each Handler saw: every
// connection in the order opened, then the order of the closes.
func expiryRuns(t *testing.T, in []byte) (cached, always []string) {
	render := func(r *recorder) []string {
		var out []string
		for _, c := range r.conns {
			out = append(out, fmt.Sprintf("%+v", *c))
		}
		return append(out, fmt.Sprint("closed in order ", r.closeOrder))
	}
	return render(expiryRun(t, in, false)), render(expiryRun(t, in, true))
}

// expiryRun reads in as 8-byte segments over 32 client ports of one
// server, with short timeouts (idle 2 s, linger 1 s, RST grace 1 s) and
// small limits (24 connections, 8 half-open), and a clock that mostly
// steps forwards by up to 0.63 s, sometimes jumps by up to 6.3 s and
// sometimes goes back: connections expire, linger, reset and are
// evicted in every order. Every eighth segment the clock is also advanced
// as an engine does at the end of a batch. With recheck, expire runs on
// every clock advance.
func expiryRun(t *testing.T, in []byte, recheck bool) *recorder {
	r := newRecorder()
	tb := NewTable(expiryConfig, r)
	feedExpiry(tb, in, recheck, false)
	return r
}

var expiryConfig = Config{IdleTimeout: 2 * time.Second, Linger: time.Second, MaxConns: 24, MaxHalfOpen: 8}

// flushRuns feeds in as expiryRun does, with a flush halfway as well, to a
// Table whose Handler sees every connection and to one whose Handler
// ignores half-open ones (which a flush drops at once, embryos.reset):
// their counters must be the same.
func flushRuns(in []byte) (seen, quiet Stats) {
	run := func(h Handler) Stats {
		tb := NewTable(expiryConfig, h)
		feedExpiry(tb, in, false, true)
		return tb.Stats()
	}
	return run(newRecorder()), run(Funcs{OnSent: func(*Conn, Data) {}})
}

// feedExpiry is expiryRun's loop, then a flush; with midFlush, also a
// flush after half the segments (the same 4-tuples come back after it).
func feedExpiry(tb *Table, in []byte, recheck, midFlush bool) {
	payload := make([]byte, 256)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	ts, newest := epoch0, epoch0
	for i := 0; i+8 <= len(in); i += 8 {
		if midFlush && i == len(in)/16*8 {
			tb.Flush(ReasonFlush)
		}
		b := in[i : i+8]
		sc := defScript()
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), uint16(40000+int(b[0]&31)))
		from := byte('c')
		if b[0]&0x20 != 0 {
			from = 's'
		}
		s := sc.seg(pkt{from: from, seq: uint32(b[2]) << 4, ack: uint32(b[4]) << 4})
		s.Flags = Flags(b[1]) & (SYN | FIN | RST | ACK)
		n := int(b[6] & 0x0f)
		off := int(b[5])
		s.Payload = payload[off%len(payload) : off%len(payload)]
		if off+n <= len(payload) {
			s.Payload = payload[off : off+n]
		}
		switch step := int64(b[7] & 0x3f); b[7] >> 6 {
		case 0, 1:
			ts += step * 1e7
		case 2:
			ts += step * 1e8
		default:
			ts -= step * 1e7
		}
		s.TS = ts
		newest = max(newest, ts)
		tb.Feed(s)
		if recheck {
			tb.recheck()
		}
		if i/8%8 == 7 {
			tb.Advance(newest)
			if recheck {
				tb.recheck()
			}
		}
	}
	tb.Flush(ReasonFlush)
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
// scribbled over) three segments later. With recheck, expire runs on every
// clock advance, as it did before Table.nextCheck. mod, if not nil,
// changes the Config.
func fuzzRun(t *testing.T, in []byte, lease, recheck bool, mod func(*Config)) *recorder {
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
		if recheck {
			tb.recheck()
		}
		checkBuffered(t, tb)
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

// TestExpiryCheckSkipsNothing runs FuzzTable's comparison of expire
// skipped below Table.nextCheck and expire on every clock advance
// (expiryRuns) over 3000 pseudo-random inputs: the same connections,
// bytes, close reasons and order.
func TestExpiryCheckSkipsNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 20))
	expired, flushed := 0, 0
	for n := 0; n < 3000; n++ {
		in := make([]byte, 8*(1+r.IntN(60)))
		for i := range in {
			in[i] = byte(r.Uint32())
		}
		c, a := expiryRuns(t, in)
		if !slices.Equal(c, a) {
			t.Fatalf("input %x:\nexpire skipped below nextCheck:\n%s\non every clock advance:\n%s", in, c, a)
		}
		if seen, quiet := flushRuns(in); seen != quiet {
			t.Fatalf("input %x: counters with a Handler that sees half-open connections:\n%+v\nwith one that ignores them:\n%+v", in, seen, quiet)
		} else if seen.HalfOpen != 0 || seen.Active != 0 {
			t.Fatalf("input %x: after the flush %d open, %d half-open", in, seen.Active, seen.HalfOpen)
		} else if seen.ClosedBy(ReasonFlush) > 0 {
			flushed++
		}
		for _, s := range c {
			if strings.Contains(s, fmt.Sprintf("reason:%d ", ReasonTimeout)) {
				expired++
			}
		}
	}
	if expired < 1000 || flushed < 1000 {
		t.Fatalf("only %d connections closed by idle timeout, %d inputs with connections flushed: the inputs do not test expiry and flush", expired, flushed)
	}
}

// checkBuffered: every open connection's buffered total is its two
// directions' (EndLease and the buffering list rely on it), and it is on
// the buffering list exactly when that total is not zero.
func checkBuffered(t *testing.T, tb *Table) {
	t.Helper()
	for c := tb.lru.head; c != nil; c = c.links[lkMain].next {
		if sum := c.half[0].buffered + c.half[1].buffered; c.buffered != sum {
			t.Fatalf("connection %x: buffered %d, its directions %d", c.id, c.buffered, sum)
		}
		if c.links[lkBuf].in != (c.buffered > 0) {
			t.Fatalf("connection %x: %d bytes buffered, on the buffering list: %v", c.id, c.buffered, c.links[lkBuf].in)
		}
	}
}
