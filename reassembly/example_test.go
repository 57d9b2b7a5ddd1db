package reassembly_test

import (
	"fmt"
	"net/netip"

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
