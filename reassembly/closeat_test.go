package reassembly

import (
	"net/netip"
	"testing"
	"time"
)

// What a close by RST or by idle timeout delivers is stamped with the
// close's deadline (the RST's time plus ResetGrace, the last packet's time
// plus IdleTimeout), not with the time of whatever packet of another flow
// moved the clock past it: the same whichever flows share the worker.
func TestCloseDeliversAtItsDeadline(t *testing.T) {
	const grace, idle = 2 * time.Second, 30 * time.Second
	for _, c := range []struct {
		name  string
		end   pkt           // the packet that ends the connection's activity
		other time.Duration // when another flow's packet moves the clock
		want  time.Duration // the deadline
	}{
		{"rst", pkt{from: 's', flags: "R", seq: 1, ts: time.Second}, 7 * time.Second, time.Second + grace},
		{"timeout", pkt{from: 'c', flags: ".", seq: 6, ack: 1, ts: time.Second}, time.Second + idle + 13*time.Second, time.Second + idle},
	} {
		sc := defScript()
		pkts := cat(handshake(), []pkt{
			{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"}, // never ACKed: flushed at the close
			c.end,
		})
		var got []int64
		var reason Reason
		tb := NewTable(Config{ResetGrace: grace, IdleTimeout: idle}, Funcs{
			OnSent:  func(_ *Conn, d Data) { got = append(got, d.TS) },
			OnClose: func(cn *Conn, r Reason) { reason = r },
		})
		for _, p := range pkts {
			tb.Feed(sc.seg(p))
		}
		other := script{cli: netip.MustParseAddrPort("10.9.9.9:1234"), srv: testSrv, isnC: 7, isnS: 9, epoch: epoch0}
		tb.Feed(other.seg(pkt{from: 'c', flags: "S", ts: c.other}))
		if len(got) != 1 || got[0] != epoch0+int64(c.want) {
			t.Errorf("%s: delivered at %v, want once at %v (the other flow's packet at %v)", c.name, rel(got), c.want, c.other)
		}
		if want := map[string]Reason{"rst": ReasonRST, "timeout": ReasonTimeout}[c.name]; reason != want {
			t.Errorf("%s: closed %v, want %v", c.name, reason, want)
		}
	}
}

func rel(ts []int64) []time.Duration {
	var out []time.Duration
	for _, x := range ts {
		out = append(out, time.Duration(x-epoch0))
	}
	return out
}
