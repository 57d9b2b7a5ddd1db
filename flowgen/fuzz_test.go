package flowgen_test

import (
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
)

// FuzzConfig draws a mix of impairments from the input and checks the
// truth against the oracle.
func FuzzConfig(f *testing.F) {
	f.Add(int64(1), uint32(0xffffffff), uint8(10))
	f.Add(int64(2), uint32(1<<5), uint8(200))
	f.Add(int64(-94), uint32(4294967191), uint8(0x78)) // reordered capture-loss holes
	f.Add(int64(30), uint32(4294967205), uint8(0x5b))  // open end, last ACK on a capture-lost segment
	f.Fuzz(func(t *testing.T, seed int64, mask uint32, level uint8) {
		cfg := flowgen.Sample(seed, mask, level)
		c, err := flowgen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkOracle(c); err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
	})
}
