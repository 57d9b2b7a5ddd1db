package reassembly_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Property: for captures made by flowgen (many concurrent connections with
// known payloads and impairments), a Table with the default Config
// delivers exactly the truth: for every connection and direction the same
// bytes, the same gaps at the same offsets, and no connection more.
func TestPropertyFlowgen(t *testing.T) {
	type run struct {
		name string
		cfg  flowgen.Config
	}
	var runs []run
	seeds := 50
	if testing.Short() {
		seeds = 10
	}
	for seed := range int64(seeds) {
		cfg := flowgen.Mixed(seed)
		cfg.Conns, cfg.MaxBytes, cfg.Concurrency = 20, 40_000, 8
		runs = append(runs, run{fmt.Sprintf("mixed/seed=%d", seed), cfg})
	}
	one := func(name string, set func(*flowgen.Config)) {
		cfg := flowgen.Config{Seed: 100, Conns: 40, MaxBytes: 60_000, Concurrency: 16, IPv6Share: 0.3, VLANShare: 0.3}
		set(&cfg)
		runs = append(runs, run{name, cfg})
	}
	one("clean", func(c *flowgen.Config) {})
	one("reorder", func(c *flowgen.Config) { c.Reorder = 0.2 })
	one("duplicate", func(c *flowgen.Config) { c.Duplicate = 0.2 })
	one("overlap-same", func(c *flowgen.Config) { c.OverlapSame = 0.2 })
	one("overlap-diff", func(c *flowgen.Config) { c.OverlapDiff = 0.2 })
	one("loss", func(c *flowgen.Config) { c.Loss = 0.2 })
	one("capture-loss", func(c *flowgen.Config) { c.CaptureLoss = 0.1 })
	one("one-sided", func(c *flowgen.Config) { c.OneSided = 0.5 })
	one("midstream", func(c *flowgen.Config) { c.Midstream = 0.5 })
	one("wrap", func(c *flowgen.Config) { c.WrapISN = 0.5 })
	one("port-reuse", func(c *flowgen.Config) { c.PortReuse = 0.5 })
	one("rst", func(c *flowgen.Config) { c.RST = 0.5 })
	one("open", func(c *flowgen.Config) { c.Open = 0.5 })
	one("tiny", func(c *flowgen.Config) { c.Tiny = 0.3 })
	one("oversize", func(c *flowgen.Config) { c.Oversize = 0.2; c.MaxBytes = 400_000 })

	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			c, err := flowgen.Generate(r.cfg)
			if err != nil {
				t.Fatal(err)
			}
			col, st := reassemble(c, reassembly.Config{})
			diffs := compare(c, col)
			for i, d := range diffs {
				if i == 10 {
					t.Errorf("... and %d more", len(diffs)-i)
					break
				}
				t.Error(d)
			}
			if len(diffs) > 0 {
				t.Logf("config %+v; stats %+v", r.cfg, st)
			}
			if st.Active != 0 || st.Buffered != 0 {
				t.Errorf("after Flush: %d active, %d bytes buffered", st.Active, st.Buffered)
			}
		})
	}
}

// TestPropertyBench runs the property on flowgen's benchmark mix (20k
// packets; FLOWGEN_PACKETS=n for another size, e.g. 1000000 for the full
// benchmark capture).
func TestPropertyBench(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture")
	}
	n := 20_000
	if s := os.Getenv("FLOWGEN_PACKETS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	cfg := flowgen.Bench(7, n)
	cfg.DigestOnly = false
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	col, st := reassemble(c, reassembly.Config{})
	diffs := compare(c, col)
	for i, d := range diffs {
		if i == 10 {
			t.Errorf("... and %d more", len(diffs)-i)
			break
		}
		t.Error(d)
	}
	t.Logf("%d packets, %d connections; stats %+v", c.Len(), len(c.Conns), st)
}

// FuzzPropertyFlowgen checks the property on small captures with a mix of
// impairments drawn from the input (see flowgen.Sample).
func FuzzPropertyFlowgen(f *testing.F) {
	f.Add(int64(1), uint32(0xffffffff), uint8(10))
	f.Add(int64(2), uint32(1<<7), uint8(60))          // capture loss
	f.Add(int64(328), uint32(0xffffffd7), uint8(186)) // port reuse after wrap: same ISN (fixed in flowgen)
	f.Fuzz(func(t *testing.T, seed int64, mask uint32, level uint8) {
		cfg := flowgen.Sample(seed, mask, level)
		c, err := flowgen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		col, _ := reassemble(c, reassembly.Config{})
		if diffs := compare(c, col); len(diffs) > 0 {
			t.Fatalf("flowgen.Sample(%d, %#x, %d): %d differences, first: %s", seed, mask, level, len(diffs), diffs[0])
		}
	})
}
