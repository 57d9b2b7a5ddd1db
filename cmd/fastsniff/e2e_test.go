package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// TestGeneratedCapturesMatchTruth runs generated captures with every
// impairment through `fastsniff -r --digest`, with 1 and with 4 workers,
// and checks each connection's delivered bytes against the generator's
// ground truth.
func TestGeneratedCapturesMatchTruth(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		c, err := flowgen.Generate(flowgen.Mixed(seed))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		pcap := filepath.Join(dir, "gen.pcap")
		if err := c.WritePcapFile(pcap); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("seed%d/workers%d", seed, workers), func(t *testing.T) {
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

func checkTruth(t *testing.T, c *flowgen.Capture, recs []connlog.Record) {
	t.Helper()
	// group both sides by 4-tuple, in order of start: port reuse gives
	// several connections per tuple
	type tuple struct{ cli, srv string }
	byTuple := map[tuple][]connlog.Record{}
	for _, r := range recs {
		k := tuple{
			netip.AddrPortFrom(netip.MustParseAddr(r.OrigH), r.OrigP).String(),
			netip.AddrPortFrom(netip.MustParseAddr(r.RespH), r.RespP).String(),
		}
		byTuple[k] = append(byTuple[k], r)
	}
	for k := range byTuple {
		rs := byTuple[k]
		sort.Slice(rs, func(i, j int) bool { return rs[i].TS < rs[j].TS })
	}
	if len(recs) != len(c.Conns) {
		t.Errorf("%d connections logged, truth has %d", len(recs), len(c.Conns))
	}
	seen := map[tuple]int{}
	bad := 0
	for i := range c.Conns {
		tc := &c.Conns[i]
		k := tuple{tc.Client.String(), tc.Server.String()}
		rs := byTuple[k]
		n := seen[k]
		seen[k]++
		if n >= len(rs) {
			t.Errorf("conn %d %v: not in the log", i, k)
			bad++
			continue
		}
		r := rs[n]
		for d, got := range [2]struct {
			sha       string
			delivered uint64
		}{{r.OrigSHA256, r.OrigDelivered}, {r.RespSHA256, r.RespDelivered}} {
			want := tc.Streams[d]
			if got.sha != hex.EncodeToString(want.SHA256[:]) || got.delivered != want.Delivered {
				bad++
				if bad <= 10 {
					t.Errorf("conn %d %v dir %d (midstream %v one-sided %v ends %s): delivered %d sha %.12s, want %d sha %x",
						i, k, d, tc.Midstream, tc.OneSided, tc.EndsWith, got.delivered, got.sha, want.Delivered, want.SHA256[:6])
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}

// Several -r files are read in order as one capture: a generated capture
// cut in three gives exactly the connection log of the whole file.
func TestSeveralFilesAreOneCapture(t *testing.T) {
	whole, parts := generatedInThree(t, 11)
	a := sortedConnLog(t, "2", "-r", whole)
	b := sortedConnLog(t, "2", "-r", parts[0], "-r", parts[1]+","+parts[2])
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("logs differ:\n%s\nvs\n%s", a, b)
	}
}

// A capture read from a pipe (`-r <(zcat x.pcap.gz)`, `-r -` for standard
// input, a FIFO) is read once, in its turn among the files, with one
// worker or several: the log is the whole file's.
func TestPipedInput(t *testing.T) {
	whole, parts := generatedInThree(t, 12)
	// pipe returns /dev/fd/N for a pipe that carries the file (gzipped)
	pipe := func(path string, gz bool) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if gz {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write(data)
			w.Close()
			data = b.Bytes()
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		go func() {
			w.Write(data)
			w.Close()
		}()
		return fmt.Sprintf("/dev/fd/%d", r.Fd())
	}
	logOf := func(workers string, args ...string) []byte { return sortedConnLog(t, workers, args...) }
	want := logOf("1", "-r", whole)
	if len(want) == 0 {
		t.Fatal("empty log")
	}
	for _, workers := range []string{"1", "2"} {
		if got := logOf(workers, "-r", pipe(parts[0], false), "-r", parts[1], "-r", pipe(parts[2], true)); !bytes.Equal(got, want) {
			t.Errorf("pipes, %s workers: logs differ:\n%s\nvs\n%s", workers, got, want)
		}
		// standard input, for `-r -`: a pipe, and a regular file (`< x.pcap`:
		// read once too, its descriptors share one offset)
		f, err := os.Open(whole)
		if err != nil {
			t.Fatal(err)
		}
		for _, stdin := range []string{pipe(whole, true), fmt.Sprintf("/dev/fd/%d", f.Fd())} {
			saved, err := unix.Dup(0)
			if err != nil {
				t.Fatal(err)
			}
			var fd int
			fmt.Sscanf(stdin, "/dev/fd/%d", &fd)
			if err := unix.Dup2(fd, 0); err != nil {
				t.Fatal(err)
			}
			got := logOf(workers, "-r", "-")
			unix.Dup2(saved, 0)
			unix.Close(saved)
			if !bytes.Equal(got, want) {
				t.Errorf("-r - (%s), %s workers: logs differ:\n%s\nvs\n%s", stdin, workers, got, want)
			}
		}
		f.Close()
	}
}

// generatedInThree writes a flowgen.Mixed(seed) capture and the same cut
// in three files of consecutive packets.
func generatedInThree(t *testing.T, seed int64) (whole string, parts []string) {
	t.Helper()
	c, err := flowgen.Generate(flowgen.Mixed(seed))
	if err != nil {
		t.Fatal(err)
	}
	whole = filepath.Join(t.TempDir(), "whole.pcap")
	if err := c.WritePcapFile(whole); err != nil {
		t.Fatal(err)
	}
	return whole, splitPcap(t, whole, 3)
}

// sortedConnLog runs fastsniff with args and workers, and returns its
// conn log (with digests), lines sorted.
func sortedConnLog(t *testing.T, workers string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "conn.log")
	var stderr bytes.Buffer
	if code := run(context.Background(), append(args, "--workers", workers, "--conn-log", out, "--digest", "-q"), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("%q: exit %d: %s", args, code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return connlog.SortLines(b)
}

// splitPcap cuts a pcap file into n files of consecutive packets.
func splitPcap(t *testing.T, path string, n int) []string {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var all []rec
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		all = append(all, rec{ci, data})
	}
	var out []string
	per := (len(all) + n - 1) / n
	for i := 0; i < n; i++ {
		p := filepath.Join(filepath.Dir(path), fmt.Sprintf("part%d.pcap", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := pcapgo.NewWriterNanos(f)
		if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		for _, x := range all[min(i*per, len(all)):min((i+1)*per, len(all))] {
			if err := w.WritePacket(x.ci, x.data); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		out = append(out, p)
	}
	return out
}
