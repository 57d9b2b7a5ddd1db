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

// TestTunnelKeyConnLog: with --tunnel-key the conn log names each
// connection's tunnel, the generated truth still holds (one VNI both
// ways), and the HTTP log joins on the same uids.
func TestTunnelKeyConnLog(t *testing.T) {
	dir := t.TempDir()
	logPath, httpPath := filepath.Join(dir, "conn.log"), filepath.Join(dir, "http.log")
	var stderr bytes.Buffer
	for _, tc := range []struct{ file, tunnel, orig string }{
		{"ak-erspan2-vxlan.pcap", "gre/erspan2(session=20)/vxlan(vni=0)", "10.16.27.12"},
		{"zk-vxlan-http.pcap", "vxlan(vni=1)", "172.16.11.201"},
	} {
		pcap := filepath.Join("..", "..", "testdata", "tunnels", "pcaps", tc.file)
		if code := run(context.Background(), []string{"-r", pcap, "--tunnel-key", "--conn-log", logPath, "--http-log", httpPath, "-q"}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		recs := readConnLog(t, logPath)
		if len(recs) != 1 || recs[0].Tunnel != tc.tunnel || recs[0].OrigH != tc.orig || recs[0].RespP != 80 {
			t.Fatalf("%s: records %+v", tc.file, recs)
		}
		hl, err := os.ReadFile(httpPath)
		if err != nil {
			t.Fatal(err)
		}
		if tc.file == "zk-vxlan-http.pcap" && !bytes.Contains(hl, []byte(`"uid":"`+recs[0].UID+`","id.orig_h":"172.16.11.201"`)) {
			t.Errorf("http log does not join on uid %s:\n%s", recs[0].UID, hl)
		}
	}

	cfg := flowgen.Mixed(12)
	cfg.Conns = 40
	cfg.Encap, cfg.EncapID = flowgen.EncapVXLAN, 5569041
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "gen.pcap")
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"-r", gen, "--tunnel-key", "--workers", "2", "--conn-log", logPath, "--digest", "-q"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	recs := readConnLog(t, logPath)
	checkTruth(t, c, recs)
	for _, r := range recs {
		if r.Tunnel != "vxlan(vni=5569041)" {
			t.Fatalf("tunnel %q", r.Tunnel)
		}
	}
}

func readConnLog(t *testing.T, path string) []connlog.Record {
	t.Helper()
	f, err := os.Open(path)
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

func TestTunnelFlags(t *testing.T) {
	o, err := parseArgs([]string{"-i", "lo", "--tunnel-key", "--outer-fanout"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	dc, lc := o.decodeConfig(), o.connlogOptions()
	if !o.tunnel.outerFanout || !dc.TunnelKey || dc.Names == nil || lc.Tunnels == nil {
		t.Errorf("options %+v, decode %+v, conn log %+v", o.tunnel, dc, lc)
	}
	o, err = parseArgs([]string{"-r", "x.pcap"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if dc, lc := o.decodeConfig(), o.connlogOptions(); o.tunnel.outerFanout || dc.TunnelKey || dc.Names != nil || lc.Tunnels != nil {
		t.Errorf("defaults: decode %+v, conn log %+v", dc, lc)
	}
}

// TestTunnelSummary: the summary counts what came through tunnels.
func TestTunnelSummary(t *testing.T) {
	var stderr bytes.Buffer
	pcap := filepath.Join("..", "..", "testdata", "tunnels", "pcaps", "ak-erspan2-vxlan.pcap")
	if code := run(context.Background(), []string{"-r", pcap}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "tunnels: 7 tcp segments inside; layers opened: gre 7, erspan2 7, vxlan 7\n"; !bytes.Contains(stderr.Bytes(), []byte(want)) {
		t.Errorf("summary lacks %q:\n%s", want, stderr.String())
	}
}
