package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// conns runs the offline engine on paths and returns, for each worker,
// the fingerprints of the connections it closed: endpoints, VLANs, start,
// close reason and a digest of each direction's delivered bytes.
func conns(t *testing.T, workers int, paths ...string) [][]string {
	t.Helper()
	out := make([][]string, workers)
	var mu sync.Mutex
	cfg := offline.Config{
		Workers: workers,
		Handler: func(w int) reassembly.Handler {
			return reassembly.Funcs{
				OnOpen: func(c *reassembly.Conn) { c.Ctx = &[2][]byte{} },
				OnSent: func(c *reassembly.Conn, d reassembly.Data) {
					b := c.Ctx.(*[2][]byte)
					b[0] = append(b[0], d.Bytes...)
				},
				OnReceived: func(c *reassembly.Conn, d reassembly.Data) {
					b := c.Ctx.(*[2][]byte)
					b[1] = append(b[1], d.Bytes...)
				},
				OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
					b := c.Ctx.(*[2][]byte)
					fp := fmt.Sprintf("%v>%v vlan%v @%d %v %x %x", c.Client(), c.Server(), c.VLANs().Slice(),
						c.StartNanos(), r, sha256.Sum256(b[0]), sha256.Sum256(b[1]))
					mu.Lock()
					out[w] = append(out[w], fp)
					mu.Unlock()
				},
			}
		},
	}
	if _, err := offline.Run(context.Background(), cfg, paths...); err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		slices.Sort(o)
	}
	return out
}

// Part K holds exactly the connections that worker K of a run with N
// workers reassembles, with the same bytes.
func TestPartsAreWorkers(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "mixed.pcap")
	cfg := flowgen.Mixed(5)
	cfg.Conns = 120
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		n     int
	}{
		{"flowgen-mixed", []string{gen}, 3},
		{"flowgen-mixed-2", []string{gen}, 2},
		{"vlan", []string{"../../testdata/pcaps/ak-twovlan.pcap"}, 2},
		{"fragmented-syn", []string{"../../testdata/pcaps/sv-ipfrag-syn-rawip.pcap"}, 2},
		{"two-files", []string{"../../testdata/pcaps/tf-test1-http.pcap", "../../testdata/pcaps/tf-lines-ordered.pcap"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := filepath.Join(t.TempDir(), "part")
			var stderr bytes.Buffer
			if err := run(append([]string{"-n", fmt.Sprint(tc.n), "-o", prefix}, tc.paths...), &stderr); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(stderr.String(), " packets\n"); got != tc.n {
				t.Errorf("summary %q: %d lines, want %d", stderr.String(), got, tc.n)
			}
			want := conns(t, tc.n, tc.paths...)
			total, nonEmpty := 0, 0
			for k := range tc.n {
				got := conns(t, 1, fmt.Sprintf("%s-%d.pcap", prefix, k))[0]
				if !slices.Equal(got, want[k]) {
					t.Errorf("part %d: %d connections, worker %d of %d: %d\npart:   %q\nworker: %q", k, len(got), k, tc.n, len(want[k]), got, want[k])
				}
				total += len(got)
				if len(got) > 0 {
					nonEmpty++
				}
			}
			if total == 0 {
				t.Fatal("no connections at all")
			}
			if tc.name == "flowgen-mixed" && nonEmpty != tc.n {
				t.Errorf("%d of %d parts hold connections", nonEmpty, tc.n)
			}
		})
	}
}

// A file cut mid-packet: a warning, and the packets before the cut are
// split.
func TestTruncated(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../testdata/pcaps/sniffer-06-gmail.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, src[:len(src)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole")
	if err := run([]string{"-n", "1", "-o", whole, "-q", "../../testdata/pcaps/sniffer-06-gmail.pcap"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := run([]string{"-n", "1", "-o", filepath.Join(dir, "cut"), "-q", cut}, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "warning") || !strings.Contains(stderr.String(), "cut.pcap") {
		t.Errorf("stderr %q: want a warning naming the file", stderr.String())
	}
	a, b := packets(t, whole+"-0.pcap"), packets(t, filepath.Join(dir, "cut-0.pcap"))
	if len(a) < 2 || len(b) != len(a)-1 {
		t.Fatalf("cut file split into %d packets, whole into %d: want one fewer", len(b), len(a))
	}
	for i := range b {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
}

// packets reads every packet of a pcap file.
func packets(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		d, _, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		out = append(out, d)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "2", "x.pcap"}, "usage"},
		{[]string{"-o", filepath.Join(dir, "p")}, "usage"},
		{[]string{"-n", "0", "-o", filepath.Join(dir, "p"), "x.pcap"}, "usage"},
		{[]string{"-o", filepath.Join(dir, "p"), filepath.Join(dir, "missing.pcap")}, "missing.pcap"},
		{[]string{"-o", filepath.Join(dir, "p"), "main.go"}, "main.go"},
		{[]string{"-o", filepath.Join(dir, "p"), "../../testdata/pcaps/gp-pcapng-be-multisection.pcapng"}, "link type"},
	} {
		err := run(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %q", tc.args, err, tc.want)
		}
		// the link-type error comes after the parts were created
		if left, _ := filepath.Glob(filepath.Join(dir, "p-*")); len(left) != 0 {
			t.Errorf("%q: parts left behind after the error: %q", tc.args, left)
		}
	}
}

// A capture taken with a snap length over 262144 may hold longer records:
// the part's snap length covers them, so that readers take them.
func TestLongRecords(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "long.pcap")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(400000, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	long := make([]byte, 300000)
	for i := range long {
		long[i] = byte(i * 7)
	}
	recs := [][]byte{long[:60], long, long[:1000]}
	for i, d := range recs {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)), CaptureLength: len(d), Length: len(d)}
		if err := w.WritePacket(ci, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path string
		snap uint32
		recs [][]byte
	}{
		{src, 300000, recs},
		{"../../testdata/pcaps/sniffer-06-gmail.pcap", 262144, nil},
	} {
		prefix := filepath.Join(dir, strings.TrimSuffix(filepath.Base(tc.path), ".pcap"))
		if err := run([]string{"-n", "2", "-o", prefix, "-q", tc.path}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		for k := range 2 {
			part := fmt.Sprintf("%s-%d.pcap", prefix, k)
			f, err := os.Open(part)
			if err != nil {
				t.Fatal(err)
			}
			r, err := pcapgo.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			if r.Snaplen() != tc.snap {
				t.Errorf("%s: snap length %d, want %d", part, r.Snaplen(), tc.snap)
			}
			f.Close()
			if tc.recs == nil {
				continue
			}
			// no record decodes to TCP: every part has them all
			got := packets(t, part)
			if len(got) != len(tc.recs) {
				t.Fatalf("%s: %d records read, want %d", part, len(got), len(tc.recs))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.recs[i]) {
					t.Errorf("%s: record %d differs (%d bytes, want %d)", part, i, len(got[i]), len(tc.recs[i]))
				}
			}
		}
	}
}
