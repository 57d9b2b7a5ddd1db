package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/gopacket/gopacket/pcapgo"
)

// rotatedRun runs fastsniff -r with args and --rotate, the logs in a new
// directory, and returns the lines of each rotated file by file name.
func rotatedRun(t *testing.T, args ...string) map[string][]string {
	return logRun(t, true, args...)
}

// logRun runs fastsniff -r with args and the three JSON logs in a new
// directory, and returns the lines of each file by file name; rotated
// says the names must be rotated ones, in order.
func logRun(t *testing.T, rotated bool, args ...string) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	var stderr bytes.Buffer
	args = append(args, "-q", "--conn-log", filepath.Join(dir, "conn.json"), "--http-log", filepath.Join(dir, "http.json"), "--ssl-log", filepath.Join(dir, "ssl.json"))
	if code := run(context.Background(), args, io.Discard, &stderr); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
	}
	if rotated {
		readLogDir(t, dir, false) // names, whole lines, spans in order
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range ents {
		out[e.Name()] = sortedLines(t, filepath.Join(dir, e.Name()))
	}
	return out
}

// usec parses a log's decimal seconds ("1577836805.003987") exactly, in
// microseconds.
func usec(t *testing.T, n json.Number) int64 {
	t.Helper()
	s, frac, _ := strings.Cut(n.String(), ".")
	frac = (frac + "000000")[:6]
	v, err := strconv.ParseInt(s+frac, 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", n, err)
	}
	return v
}

// spanOf returns the span [start, end) in microseconds of a rotated file
// name, with the interval iv (the name's start is the first packet's time
// for the first file, to the second: its span is the interval holding it).
func spanOf(t *testing.T, name string, iv time.Duration) (start, end int64) {
	t.Helper()
	m := rotated.FindStringSubmatch(name)
	if m == nil {
		t.Fatalf("%s: not a rotated name", name)
	}
	s, err := time.Parse(timeLayoutTest, m[2])
	if err != nil {
		t.Fatal(err)
	}
	s = s.Truncate(iv)
	return s.UnixMicro(), s.Add(iv).UnixMicro()
}

const timeLayoutTest = "2006-01-02-15-04-05"

// TestRotateCaptureClockDeterministic (issue #12): with --rotate reading a
// file, each line goes to the file of the capture time it was logged at
// on its worker (a connection's close), so any number of workers, with
// replicated reading (up to 4) or one reader (6), gives the same files
// holding the same lines; each conn line is in the span holding its close
// time as FIELDS.md's fields give it (ts + duration: the last packet; plus
// the idle timeout for a timeout; the last packet read for the end of
// input); and the files together hold the lines of an unrotated run.
func TestRotateCaptureClockDeterministic(t *testing.T) {
	c, err := flowgen.Generate(flowgen.Config{Seed: 11, Conns: 3000, Concurrency: 16, Open: 0.1, RST: 0.1, PortReuse: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	var lastPkt int64 // the end of input's clock, µs
	for i := range c.Len() {
		lastPkt = max(lastPkt, c.Packet(i).TS/1000)
	}
	const iv, idle = time.Second, 5 * time.Second
	common := []string{"-r", gen, "--idle-timeout", idle.String()}

	ref := logRun(t, false, append(common, "--workers", "1")...) // unrotated: conn.json, http.json, ssl.json
	want := ref["conn.json"]
	if len(want) < 3000 {
		t.Fatalf("%d connections in the unrotated log", len(want))
	}

	var first map[string][]string
	for _, w := range []string{"1", "2", "3", "6"} {
		got := rotatedRun(t, append(common, "--workers", w, "--rotate", iv.String())...)
		if first == nil {
			first = got
			if len(got) < 10 {
				t.Fatalf("%d rotated files: want a capture spanning more intervals", len(got))
			}
		} else {
			for name, lines := range first {
				if !slices.Equal(got[name], lines) {
					t.Errorf("--workers %s: %s has %d lines, %d with --workers 1 (or is missing)", w, name, len(got[name]), len(lines))
				}
			}
			for name := range got {
				if first[name] == nil {
					t.Errorf("--workers %s: %s, not there with --workers 1", w, name)
				}
			}
		}
		// every conn line in the span of its logging time
		var all []string
		reasons := map[string]int{}
		for name, lines := range got {
			if !strings.HasPrefix(name, "conn.") {
				continue
			}
			all = append(all, lines...)
			lo, hi := spanOf(t, name, iv)
			for _, l := range lines {
				var r struct {
					TS       json.Number `json:"ts"`
					Duration json.Number `json:"duration"`
					Reason   string      `json:"close_reason"`
				}
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatal(err)
				}
				last := usec(t, r.TS) + usec(t, r.Duration)
				reasons[r.Reason]++
				var at []int64 // the logging time, or a range of them
				switch r.Reason {
				case "fin":
					at = []int64{last, last}
				case "timeout":
					at = []int64{last + idle.Microseconds(), last + idle.Microseconds()}
				case "flush":
					at = []int64{lastPkt, lastPkt}
				case "rst":
					at = []int64{last, last + time.Second.Microseconds()}
				default: // reused: the clock at the new SYN
					at = []int64{last, lastPkt}
				}
				// ±1 µs: ts and duration are each rounded to the µs
				if at[1] < lo-1 || at[0] >= hi+1 {
					t.Errorf("--workers %s: %s holds a %s connection logged at %d µs, outside [%d, %d): %s", w, name, r.Reason, at[0], lo, hi, l)
				}
			}
		}
		slices.Sort(all)
		if !slices.Equal(all, want) {
			t.Errorf("--workers %s: %d conn lines in the rotated files, %d unrotated", w, len(all), len(want))
		}
		for _, r := range []string{"fin", "timeout", "flush", "rst"} {
			if reasons[r] == 0 {
				t.Errorf("no %s connection: the capture does not test it (%v)", r, reasons)
			}
		}
	}
}

// TestRotateAtBoundary: a connection whose last packet (its FIN's ACK) is
// at exactly a boundary of the capture clock is logged in the span that
// boundary starts; one microsecond earlier, in the span it ends.
func TestRotateAtBoundary(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "pcaps", "sniffer-06-gmail.pcap")
	const conn = `"id.orig_p":55419,` // closed with FIN at 1145910488.349102
	boundary := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	fin := time.Unix(1145910488, 349102000)
	for _, tt := range []struct {
		name  string
		shift time.Duration // the FIN's ACK at boundary + shift
		want  string        // the file it must be in
	}{
		{"at the boundary", 0, "conn.2026-12-02-10-00-00_10-00-"},
		{"a microsecond before", -time.Microsecond, "conn.2026-12-02-09-59-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			shifted := filepath.Join(t.TempDir(), "gmail.pcap")
			shiftPcap(t, in, shifted, boundary.Add(tt.shift).Sub(fin))
			for _, w := range []string{"1", "2"} {
				got := rotatedRun(t, "-r", shifted, "--workers", w, "--rotate", "1h")
				var in []string
				for name, lines := range got {
					if !strings.HasPrefix(name, "conn.") {
						continue
					}
					for _, l := range lines {
						if strings.Contains(l, conn) {
							if !strings.Contains(l, `"close_reason":"fin"`) {
								t.Fatalf("not the FIN connection: %s", l)
							}
							in = append(in, name)
						}
					}
				}
				if len(in) != 1 || !strings.HasPrefix(in[0], tt.want) {
					t.Errorf("--workers %s: %s logged in %v, want one file %s*; files %v", w, conn, in, tt.want, slices.Collect(mapKeys(got)))
				}
			}
		})
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// shiftPcap copies the pcap file in to out with every timestamp moved by d
// (a whole number of microseconds: the file keeps its resolution).
func shiftPcap(t *testing.T, in, out string, d time.Duration) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ci.Timestamp = ci.Timestamp.Add(d)
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRotateHTTPDeterministic: the HTTP log's lines (each logged at the
// packet that completed its transaction, or at its connection's close)
// land in the same rotated files for any number of workers, and together
// are the unrotated log of the same run. (Files are compared by the
// transactions in them, uid and trans_depth: a response whose first bytes
// were only delivered when its connection closed after a RST carries the
// worker's clock at that close as response_ts, which differs with the
// number of workers with or without rotation.)
func TestRotateHTTPDeterministic(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "pcaps", "sniffer-06-gmail.pcap")
	key := func(lines []string) []string {
		var ks []string
		for _, l := range lines {
			var r struct {
				UID   string `json:"uid"`
				Depth int    `json:"trans_depth"`
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			ks = append(ks, r.UID+"/"+strconv.Itoa(r.Depth))
		}
		slices.Sort(ks)
		return ks
	}
	var first map[string][]string
	for _, w := range []string{"1", "2", "6"} {
		want := logRun(t, false, "-r", in, "--workers", w)["http.json"]
		if len(want) < 10 {
			t.Fatalf("%d HTTP lines unrotated", len(want))
		}
		got := rotatedRun(t, "-r", in, "--workers", w, "--rotate", "1s")
		var all []string
		files := map[string][]string{}
		for name, lines := range got {
			if strings.HasPrefix(name, "http.") {
				all = append(all, lines...)
				files[name] = key(lines)
			}
		}
		slices.Sort(all)
		if !slices.Equal(all, want) {
			t.Errorf("--workers %s: %d HTTP lines in %d rotated files, %d unrotated", w, len(all), len(files), len(want))
		}
		if len(files) < 3 {
			t.Errorf("--workers %s: %d HTTP files: the test wants a capture over more intervals", w, len(files))
		}
		if first == nil {
			first = files
			continue
		}
		for name, ks := range first {
			if !slices.Equal(files[name], ks) {
				t.Errorf("--workers %s: %s holds %v, with --workers 1 %v", w, name, files[name], ks)
			}
		}
		if len(files) != len(first) {
			t.Errorf("--workers %s: %d files, %d with --workers 1", w, len(files), len(first))
		}
	}
}
