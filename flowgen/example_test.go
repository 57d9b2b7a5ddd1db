package flowgen_test

import (
	"fmt"
	"io"

	"github.com/fastsniff/fastsniff/flowgen"
)

func Example() {
	c, err := flowgen.Generate(flowgen.Config{Seed: 1, Conns: 3, MinBytes: 2000, MaxBytes: 9000, CaptureLoss: 0.1})
	if err != nil {
		panic(err)
	}
	// Write the pcap (an *os.File in real use) and look at the truth: the
	// bytes a reassembler must deliver, and the holes it must report.
	if err := c.WritePcap(io.Discard); err != nil {
		panic(err)
	}
	for _, cn := range c.Conns {
		fmt.Printf("%v > %v: %d packets\n", cn.Client, cn.Server, cn.Packets)
		for d, st := range cn.Streams {
			fmt.Printf("  dir %d: %d of %d bytes, gaps %v\n", d, st.Delivered, st.Total, st.Gaps)
		}
	}
	// Output:
	// 198.18.0.1:40687 > 203.0.113.40:5432: 22 packets
	//   dir 0: 6453 of 7034 bytes, gaps [{6453 581}]
	//   dir 1: 4659 of 4659 bytes, gaps []
	// 198.18.0.1:32768 > 203.0.113.31:9092: 17 packets
	//   dir 0: 4270 of 5730 bytes, gaps [{3592 1460}]
	//   dir 1: 4321 of 4321 bytes, gaps []
	// 198.18.0.1:48606 > 203.0.113.62:25: 14 packets
	//   dir 0: 2252 of 3712 bytes, gaps [{1460 1460}]
	//   dir 1: 1681 of 3141 bytes, gaps [{0 1460}]
}
