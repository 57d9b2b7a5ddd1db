package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// TestGeneratedTunnelsMatchTruth runs a generated capture with every
// impairment, wrapped in each encapsulation, through `fastsniff -r
// --digest` (1 and 3 workers) and checks every connection against the
// generator's ground truth: the tunnel changes nothing.
func TestGeneratedTunnelsMatchTruth(t *testing.T) {
	for _, e := range flowgen.Encaps() {
		cfg := flowgen.Mixed(11)
		cfg.Conns = 60
		cfg.Encap, cfg.EncapID = e, 3
		if e == flowgen.EncapPPPoE || e == flowgen.EncapGTPU {
			cfg.Oversize = 0 // 16-bit length fields
		}
		c, err := flowgen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		pcap := filepath.Join(dir, "gen.pcap")
		if err := c.WritePcapFile(pcap); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/workers%d", e, workers), func(t *testing.T) {
				logPath := filepath.Join(dir, fmt.Sprintf("conn%d.log", workers))
				var stderr bytes.Buffer
				code := run(context.Background(), []string{"-r", pcap, "--workers", fmt.Sprint(workers), "--conn-log", logPath, "--digest", "-q"}, &bytes.Buffer{}, &stderr)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				lf, err := os.Open(logPath)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := connlog.Read(lf)
				lf.Close()
				if err != nil {
					t.Fatal(err)
				}
				checkTruth(t, c, recs)
			})
		}
	}
}
