package offline_test

import (
	"context"
	"fmt"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Run reads capture files through the whole engine: decoding, dispatch by
// flow and one reassembly Table per worker. Handler is called once per
// worker, so what it returns needs no locks.
func ExampleRun() {
	type totals struct{ conns, sent, received int }
	per := make([]totals, 2)
	sum, err := offline.Run(context.Background(), offline.Config{
		Workers: 2,
		Handler: func(w int) reassembly.Handler {
			return reassembly.Funcs{
				OnOpen:     func(*reassembly.Conn) { per[w].conns++ },
				OnSent:     func(_ *reassembly.Conn, d reassembly.Data) { per[w].sent += len(d.Bytes) },
				OnReceived: func(_ *reassembly.Conn, d reassembly.Data) { per[w].received += len(d.Bytes) },
			}
		},
	}, "../../testdata/pcaps/sniffer-03-keepalive.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := per[0]
	t.conns += per[1].conns
	t.sent += per[1].sent
	t.received += per[1].received
	fmt.Printf("%d packets, %d connection, %d bytes sent, %d received\n", sum.Packets, t.conns, t.sent, t.received)
	// Output: 12 packets, 1 connection, 744 bytes sent, 881 received
}
