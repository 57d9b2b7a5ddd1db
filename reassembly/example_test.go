package reassembly_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/fastsniff/fastsniff/reassembly"
)

// A Table turns segments into the two streams of each connection; the
// Handler sees client bytes in Sent and server bytes in Received, once the
// peer has ACKed them.
func Example() {
	h := reassembly.Funcs{
		OnSent: func(c *reassembly.Conn, d reassembly.Data) {
			fmt.Printf("%v sent %q\n", c.Client(), d.Bytes)
		},
		OnReceived: func(c *reassembly.Conn, d reassembly.Data) {
			fmt.Printf("%v received %q\n", c.Client(), d.Bytes)
		},
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			fmt.Printf("closed: %v, history %s\n", r, c.History())
		},
	}
	t := reassembly.NewTable(reassembly.Config{}, h)

	cli := netip.MustParseAddrPort("192.0.2.1:40000")
	srv := netip.MustParseAddrPort("192.0.2.80:80")
	ts := int64(1_600_000_000e9)
	feed := func(from, to netip.AddrPort, f reassembly.Flags, seq, ack uint32, data string) {
		s := reassembly.Segment{TS: ts, SrcPort: from.Port(), DstPort: to.Port(),
			Seq: reassembly.Seq(seq), Ack: reassembly.Seq(ack), Flags: f, Window: 65535, WScale: -1, Payload: []byte(data)}
		s.SetAddrs(from.Addr(), to.Addr())
		t.Feed(&s)
		ts += 1e6
	}
	const A, P, F, S = reassembly.ACK, reassembly.PSH, reassembly.FIN, reassembly.SYN
	feed(cli, srv, S, 100, 0, "")
	feed(srv, cli, S|A, 500, 101, "")
	feed(cli, srv, A, 101, 501, "")
	feed(cli, srv, P|A, 101, 501, "ping")
	feed(srv, cli, P|A, 501, 105, "pong") // ACKs "ping"
	feed(cli, srv, F|A, 105, 505, "")     // ACKs "pong"
	feed(srv, cli, F|A, 505, 106, "")
	t.Flush(reassembly.ReasonFlush)
	// Output:
	// 192.0.2.1:40000 sent "ping"
	// 192.0.2.1:40000 received "pong"
	// closed: fin, history ShADadFf
}

// Several consumers of the same streams — a logger and a byte counter,
// say — each written to own Conn.Ctx, chained with Multi; Config sets the
// policies (here: the later copy of overlapping bytes wins, idle
// connections close after a minute of capture time).
func ExampleMulti() {
	type counter struct{ n int }
	count := reassembly.Funcs{
		OnOpen: func(c *reassembly.Conn) { c.Ctx = &counter{} },
		OnSent: func(c *reassembly.Conn, d reassembly.Data) { c.Ctx.(*counter).n += len(d.Bytes) },
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			fmt.Printf("client sent %d bytes\n", c.Ctx.(*counter).n)
		},
	}
	logger := reassembly.Funcs{
		OnSent: func(c *reassembly.Conn, d reassembly.Data) { fmt.Printf("sent %q\n", d.Bytes) },
	}
	t := reassembly.NewTable(reassembly.Config{Overlap: reassembly.OverlapLast, IdleTimeout: time.Minute},
		reassembly.Multi(count, logger))

	cli := netip.MustParseAddrPort("192.0.2.1:40000")
	srv := netip.MustParseAddrPort("192.0.2.80:80")
	ts := int64(1_600_000_000e9)
	feed := func(from, to netip.AddrPort, f reassembly.Flags, seq, ack uint32, data string) {
		s := reassembly.Segment{TS: ts, SrcPort: from.Port(), DstPort: to.Port(),
			Seq: reassembly.Seq(seq), Ack: reassembly.Seq(ack), Flags: f, Window: 65535, WScale: -1, Payload: []byte(data)}
		s.SetAddrs(from.Addr(), to.Addr())
		t.Feed(&s)
		ts += 1e6
	}
	const A, S = reassembly.ACK, reassembly.SYN
	feed(cli, srv, S, 100, 0, "")
	feed(srv, cli, S|A, 500, 101, "")
	feed(cli, srv, A, 101, 501, "hello")
	feed(cli, srv, A, 101, 501, "HELLO") // a retransmission with other bytes
	feed(srv, cli, A, 501, 106, "")
	// no more packets: a live worker moves the capture clock itself
	t.Advance(ts + int64(2*time.Minute))
	st := t.Stats()
	fmt.Println(st.Conflicts, "conflicting overlap,", st.ClosedBy(reassembly.ReasonTimeout), "timeout")
	// Output:
	// sent "HELLO"
	// client sent 5 bytes
	// 1 conflicting overlap, 1 timeout
}
