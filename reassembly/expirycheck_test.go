package reassembly

import (
	"net/netip"
	"testing"
	"time"
)

// Table.nextCheck lets Feed and Advance skip expire until something can
// be due. Each case changes what expire looks at first in one of the
// ways that can make something due sooner than expire last computed, and
// checks that what is due goes at the first clock advance that reaches
// its deadline, not a nanosecond before. Most of them need timestamps
// that go back: a connection fed after another but with an older time
// waits behind it (expire looks at the least recently fed first), and is
// overdue once that one moves on.
func TestExpiryAfterEachChange(t *testing.T) {
	const idle, grace = 10 * time.Second, time.Second
	type step struct {
		flow byte // 'A', 'B' or 'C' (client ports 40001-40003); 0: Advance to p.ts
		p    pkt
	}
	s := time.Second
	data := func(flow byte, ts time.Duration) step {
		return step{flow, pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "x", ts: ts}}
	}
	syn := func(flow byte, ts time.Duration) step { return step{flow, pkt{from: 'c', flags: "S", ts: ts}} }
	advance := func(ts time.Duration) step { return step{0, pkt{ts: ts}} }
	for _, c := range []struct {
		name   string
		steps  []step
		quiet  bool          // a Handler that ignores half-open connections
		max    int           // MaxConns and MaxHalfOpen, when not 0
		at     time.Duration // the first advance at which one must go
		reason Reason
	}{
		{"opened by data", []step{data('A', 10*s)}, false, 0, 20 * s, ReasonTimeout},
		{"embryo hatched", []step{syn('A', 10*s)}, false, 0, 20 * s, ReasonTimeout},
		{"RST pending", []step{data('A', 10*s), {'A', pkt{from: 'c', flags: "R", seq: 2, ts: 12 * s}}},
			false, 0, 13 * s, ReasonRST},
		{"first RST taken back, next one older", []step{
			data('A', 10*s), data('B', 10*s),
			{'A', pkt{from: 'c', flags: "R", seq: 2, ts: 10 * s}},
			{'B', pkt{from: 'c', flags: "R", seq: 2, ts: 5 * s}},
			{'A', pkt{from: 's', flags: ".", seq: 1, ack: 2, ts: 10 * s}}, // B is the LRU's tail
			advance(10500 * time.Millisecond),                             // A's RST is first, due at 11 s
			{'A', pkt{from: 'c', flags: "P.", seq: 2, ack: 1, data: "y", ts: 10600 * time.Millisecond}},
		}, false, 0, 10600*time.Millisecond + 1, ReasonRST},
		{"lingering after FIN", []step{
			{'A', pkt{from: 'c', flags: "F.", seq: 1, ack: 1, ts: 10 * s}},
			{'A', pkt{from: 's', flags: "F.", seq: 1, ack: 2, ts: 10 * s}},
			{'A', pkt{from: 'c', flags: ".", seq: 2, ack: 2, ts: 11 * s}},
		}, false, 0, 20 * s, ReasonFIN}, // closed at 10 s, lingers 10 s
		{"tail touched, next one older", []step{data('A', 10*s), data('B', 5*s), advance(16 * s),
			{'A', pkt{from: 'c', flags: "P.", seq: 2, ack: 1, data: "y", ts: 16500 * time.Millisecond}}},
			false, 0, 16500*time.Millisecond + 1, ReasonTimeout},
		{"tail evicted, next one older", []step{data('A', 10*s), data('B', 5*s), advance(16 * s), data('C', 16500*time.Millisecond)},
			false, 2, 16500*time.Millisecond + 1, ReasonTimeout},
		{"embryo head touched, next one older", []step{syn('A', 13*s), syn('B', 5*s), advance(16 * s),
			syn('A', 16500*time.Millisecond)}, // a retransmission, absorbed as a repeat
			false, 0, 16500*time.Millisecond + 1, ReasonTimeout},
		{"embryo head promoted, next one older", []step{syn('A', 10*s), syn('B', 5*s), data('C', 10*s), advance(16 * s),
			{'A', pkt{from: 's', flags: "S.", ack: 1, ts: 16500 * time.Millisecond}}},
			false, 0, 16500*time.Millisecond + 1, ReasonTimeout},
		{"embryo head evicted, next one older", []step{syn('A', 10*s), syn('B', 5*s), advance(16 * s), syn('C', 16500*time.Millisecond)},
			false, 2, 16500*time.Millisecond + 1, ReasonTimeout},
		{"embryo head evicted quietly, next one older", []step{syn('A', 10*s), syn('B', 5*s), advance(16 * s), syn('C', 16500*time.Millisecond)},
			true, 2, 16500*time.Millisecond + 1, ReasonTimeout},
	} {
		cfg := Config{IdleTimeout: idle, ResetGrace: grace, Linger: idle, MaxConns: c.max, MaxHalfOpen: c.max}
		var h Handler = Funcs{OnClose: func(*Conn, Reason) {}}
		if c.quiet {
			h = Funcs{}
		}
		tb := NewTable(cfg, h)
		for _, st := range c.steps {
			if st.flow == 0 {
				tb.Advance(epoch0 + int64(st.p.ts))
				continue
			}
			sc := defScript()
			sc.cli = netip.AddrPortFrom(sc.cli.Addr(), 40000+uint16(st.flow-'A'+1))
			tb.Feed(sc.seg(st.p))
		}
		// open connections and embryos; lingering ones for FIN
		held := func() int {
			if c.reason == ReasonFIN {
				return tb.linger.n
			}
			return tb.Len()
		}
		n, closed := held(), tb.Stats().Closed[c.reason]
		tb.Advance(epoch0 + int64(c.at) - 1)
		if held() != n {
			t.Errorf("%s: %d held, %d a nanosecond before %v", c.name, n, held(), c.at)
			continue
		}
		tb.Advance(epoch0 + int64(c.at))
		if held() != n-1 {
			t.Errorf("%s: %d held at %v, want %d", c.name, held(), c.at, n-1)
		}
		if c.reason != ReasonFIN && tb.Stats().Closed[c.reason] != closed+1 {
			t.Errorf("%s: closed %v %d times at %v, want %d", c.name, c.reason, tb.Stats().Closed[c.reason], c.at, closed+1)
		}
	}
}
