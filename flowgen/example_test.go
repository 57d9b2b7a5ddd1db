package flowgen_test

import (
	"fmt"
	"io"

	"github.com/fastsniff/fastsniff/flowgen"
)

func Example() {
	c, err := flowgen.Generate(flowgen.Config{Seed: 2, Conns: 3, MinBytes: 2000, MaxBytes: 9000, CaptureLoss: 0.1})
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
	// 198.18.0.1:40687 > 203.0.113.36:6379: 19 packets
	//   dir 0: 8526 of 8526 bytes, gaps []
	//   dir 1: 2037 of 2037 bytes, gaps []
	// 198.18.0.1:32768 > 203.0.113.14:8443: 26 packets
	//   dir 0: 7407 of 8874 bytes, gaps [{4380 7} {5847 1460}]
	//   dir 1: 7194 of 8654 bytes, gaps [{0 1460}]
	// 198.18.0.1:48606 > 203.0.113.43:6379: 21 packets
	//   dir 0: 8226 of 8226 bytes, gaps []
	//   dir 1: 2044 of 2044 bytes, gaps []
}
