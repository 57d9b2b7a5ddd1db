package reassembly

import (
	"net/netip"
	"testing"
)

// A closed connection lingers without its directions: they go back to the
// Table at close and the next connection reuses them, so 1,000
// connections opened and closed one after another, all still lingering,
// use one pair of directions — and a late SYN of a lingering connection
// is still recognised (a ghost) while a new one starts a new connection.
func TestLingerKeepsNoDirections(t *testing.T) {
	tb := NewTable(Config{}, Funcs{})
	srv := netip.MustParseAddr("10.0.0.2")
	feed := func(i int, fromCli bool, f Flags, seq, ack uint32) {
		s := Segment{TS: int64(i) * 1e6, Seq: Seq(seq), Ack: Seq(ack), Flags: f, WScale: -1}
		cli := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		if fromCli {
			s.SetAddrs(cli, srv)
			s.SrcPort, s.DstPort = 40000, 80
		} else {
			s.SetAddrs(srv, cli)
			s.SrcPort, s.DstPort = 80, 40000
		}
		tb.Feed(&s)
	}
	for i := range 1000 {
		feed(i, true, SYN, 100, 0)
		feed(i, false, SYN|ACK, 500, 101)
		feed(i, true, ACK|FIN, 101, 501)
		feed(i, false, ACK|FIN, 501, 102)
		feed(i, true, ACK, 102, 502)
	}
	st := tb.Stats()
	if st.Closed[ReasonFIN] != 1000 || tb.linger.n != 1000 {
		t.Fatalf("%d closed by FIN, %d lingering", st.Closed[ReasonFIN], tb.linger.n)
	}
	if used := connSlab - len(tb.hslab); used != 1 || len(tb.hfree) != 1 {
		t.Fatalf("%d pairs of directions taken from the slab, %d free", used, len(tb.hfree))
	}
	for c := tb.linger.head; c != nil; c = c.links[tb.linger.idx].next {
		if c.half != nil {
			t.Fatal("a lingering connection kept its directions")
		}
	}
	// the SYN of connection 7 again: a ghost; with another ISN: a new one
	ghosts := tb.Stats().Ghosts // the last ACKs, after both FINs
	feed(7, true, SYN, 100, 0)
	if st := tb.Stats(); st.Ghosts != ghosts+1 || st.Opened != 1000 {
		t.Fatalf("retransmitted SYN: %d ghosts, %d opened", st.Ghosts, st.Opened)
	}
	feed(8, true, SYN, 7000, 0)
	if st := tb.Stats(); st.Opened != 1001 {
		t.Fatalf("new SYN on a lingering 4-tuple: %d opened", st.Opened)
	}
}
