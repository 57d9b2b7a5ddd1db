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

// TestAsymmetricVLANGenerated: generated traffic where half the
// connections are tagged and every tagged one has its server's packets
// untagged or tagged with another id (a SPAN port adding or stripping a
// tag on one side). With the default join each connection is one record
// with the truth's bytes, whatever the number of workers, and the record
// shows both tags; with --no-vlan-join the tagged ones fall apart.
func TestAsymmetricVLANGenerated(t *testing.T) {
	cfg := flowgen.Mixed(7)
	cfg.VLANShare, cfg.AsymVLAN = 0.5, 1
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	asym := 0
	for _, tc := range c.Conns {
		if tc.RespVLANSet {
			asym++
		}
	}
	if asym < len(c.Conns)/4 {
		t.Fatalf("only %d of %d connections tagged asymmetrically", asym, len(c.Conns))
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "asym.pcap")
	if err := c.WritePcapFile(pcap); err != nil {
		t.Fatal(err)
	}
	read := func(args ...string) []connlog.Record {
		t.Helper()
		logPath := filepath.Join(dir, "conn.log")
		var stderr bytes.Buffer
		args = append([]string{"-r", pcap, "--conn-log", logPath, "--digest", "-q"}, args...)
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		f, err := os.Open(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := connlog.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers%d", workers), func(t *testing.T) {
			recs := read("--workers", fmt.Sprint(workers))
			checkTruth(t, c, recs)
			joined := 0
			for _, r := range recs {
				if r.RespVLAN != nil {
					joined++
				}
			}
			// a connection captured one way only has nothing to join
			oneWay := 0
			for _, tc := range c.Conns {
				if tc.RespVLANSet && tc.OneSided {
					oneWay++
				}
			}
			if joined != asym-oneWay {
				t.Errorf("%d records with resp_vlan, want %d (%d asymmetric, %d captured one way)", joined, asym-oneWay, asym, oneWay)
			}
		})
	}
	t.Run("no-vlan-join", func(t *testing.T) {
		if recs := read("--no-vlan-join"); len(recs) <= len(c.Conns) {
			t.Errorf("%d records for %d connections: the tagged ones should fall apart", len(recs), len(c.Conns))
		}
	})
}
