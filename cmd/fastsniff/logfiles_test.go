package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

// rotated matches a rotated log's name: stem, span start, span end, ext.
var rotated = regexp.MustCompile(`^(conn|http|ssl)\.(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_((?:\d{4}-\d\d-\d\d-)?\d\d-\d\d-\d\d)\.json(\.gz)?$`)

// readLogDir returns the lines of every log in dir by stem (conn, http),
// checking names, whole JSON lines and spans that follow each other.
func readLogDir(t *testing.T, dir string, gz bool) (lines map[string][]string, files map[string]int) {
	t.Helper()
	lines, files = map[string][]string{}, map[string]int{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lastEnd := map[string]string{}
	for _, e := range ents { // sorted by name: by span start
		m := rotated.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("unexpected file %s", e.Name())
			continue
		}
		if gz != (m[4] != "") {
			t.Errorf("%s: gzip %v", e.Name(), gz)
		}
		stem, start, end := m[1], m[2], m[3]
		if len(end) == 8 {
			end = start[:11] + end
		}
		if end < start || start < lastEnd[stem] {
			t.Errorf("%s: span overlaps or runs backwards (previous end %s)", e.Name(), lastEnd[stem])
		}
		lastEnd[stem] = end
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Errorf("%s: empty or not ending a line", e.Name())
		}
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l == "" {
				continue
			}
			if !json.Valid([]byte(l)) {
				t.Errorf("%s: not a JSON line: %q", e.Name(), l)
			}
			lines[stem] = append(lines[stem], l)
		}
		files[stem]++
	}
	for _, ls := range lines {
		sort.Strings(ls)
	}
	return lines, files
}

func sortedLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// TestRotateOffline: with --rotate on the capture clock, the rotated
// files hold exactly the lines of an unrotated run, each once and whole,
// in files whose spans follow each other.
func TestRotateOffline(t *testing.T) {
	c, err := flowgen.Generate(flowgen.Config{Seed: 5, Conns: 2500, Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	gmail := filepath.Join("..", "..", "testdata", "pcaps", "sniffer-06-gmail.pcap")
	tests := []struct {
		name, file, workers string
		gzip                bool
		minFiles            int
	}{
		{"generated/1 worker", gen, "1", false, 2},
		{"generated/3 workers/gzip", gen, "3", true, 2},
		{"generated/6 workers", gen, "6", false, 2},
		{"http", gmail, "2", false, 1},
		{"tls", filepath.Join("..", "..", "testdata", "pcaps", "sv-tls-clienthello-mtu300.pcap"), "1", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := t.TempDir()
			args := []string{"-r", tt.file, "--workers", tt.workers, "-q", "--digest"}
			var stderr bytes.Buffer
			if code := run(context.Background(), append(args, "--conn-log", filepath.Join(ref, "conn.json"), "--http-log", filepath.Join(ref, "http.json"), "--ssl-log", filepath.Join(ref, "ssl.json")), io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			dir := t.TempDir()
			rargs := append(args, "--conn-log", filepath.Join(dir, "conn.json"), "--http-log", filepath.Join(dir, "http.json"), "--ssl-log", filepath.Join(dir, "ssl.json"), "--rotate", "1s")
			if tt.gzip {
				rargs = append(rargs, "--rotate-gzip")
			}
			if code := run(context.Background(), rargs, io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got, files := readLogDir(t, dir, tt.gzip)
			for _, stem := range []string{"conn", "http", "ssl"} {
				want := sortedLines(t, filepath.Join(ref, stem+".json"))
				if !slices.Equal(got[stem], want) {
					t.Errorf("%s: %d lines in %d rotated files, %d unrotated", stem, len(got[stem]), files[stem], len(want))
				}
			}
			if files["conn"] < tt.minFiles {
				t.Errorf("%d conn files, want at least %d", files["conn"], tt.minFiles)
			}
		})
	}
}

func TestRotateErrors(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "pcaps", "tf-test1-http.pcap")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--conn-log", "-", "--rotate", "1h"}, "--conn-log - (standard output) cannot be rotated"},
		{[]string{"--http-log", "-", "--rotate", "1h"}, "--http-log - (standard output) cannot be rotated"},
		{[]string{"--ssl-log", "-", "--rotate", "1h"}, "--ssl-log - (standard output) cannot be rotated"},
		{[]string{"--rotate-gzip"}, "--rotate-gzip needs --rotate"},
		{[]string{"--rotate", "10ms"}, "want at least 1s"},
		{[]string{"-C", "1"}, "-C needs -w FILE"},
		{[]string{"-G", "1"}, "-G needs -w FILE"},
		{[]string{"-W", "2", "-w", "x"}, "-W needs -C or -G"},
		{[]string{"-w", "-", "-C", "1"}, "standard output) cannot roll"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := run(context.Background(), append([]string{"-r", in}, tt.args...), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestLiveRotateAndHangup: live, logs rotate on the wall clock, and
// SIGHUP after logrotate moved them starts new files; across both, every
// connection is logged once, as -r logs it.
func TestLiveRotateAndHangup(t *testing.T) {
	file := liveGen(t, flowgen.Config{Seed: 21, Conns: 300})
	want := liveOfflineSet(t, file)
	t.Run("rotate", func(t *testing.T) {
		v := newLiveNS(t)
		dir := t.TempDir()
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		// about 3.5 s of traffic: at least two boundaries of 1 s
		mbps := fmt.Sprintf("--mbps=%.3f", float64(st.Size())*8/3.5e6)
		pdir := t.TempDir() // -w -G 1: a pcap file per second too
		code, stderr := liveRunCLI(t, v, func() { v.replay(t, file, mbps) }, "--workers", "2", "--conn-log", filepath.Join(dir, "conn.json"), "--digest", "--rotate", "1s",
			"-w", filepath.Join(pdir, "p-%Y%m%d-%H%M%S.pcap"), "-G", "1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, " 0 dropped") {
			t.Errorf("-w dropped packets: %s", stderr)
		}
		pcaps, _ := filepath.Glob(filepath.Join(pdir, "p-*.pcap"))
		if len(pcaps) < 2 {
			t.Errorf("%d -G files, want at least 2", len(pcaps))
		}
		liveCompare(t, want, offlineSetOf(t, pcaps...)) // names sort by time
		ents, _ := os.ReadDir(dir)
		var got []string
		for _, e := range ents {
			if !rotated.MatchString(e.Name()) {
				t.Errorf("unexpected file %s", e.Name())
			}
			got = append(got, liveConnSet(t, filepath.Join(dir, e.Name()))...)
		}
		slices.Sort(got)
		if len(ents) < 2 {
			t.Errorf("%d files, want at least 2", len(ents))
		}
		liveCompare(t, want, got)
	})
	t.Run("SIGHUP", func(t *testing.T) {
		v := newLiveNS(t)
		dir := t.TempDir()
		log := filepath.Join(dir, "conn.json")
		half := splitPcap(t, file, 2)
		pcap := filepath.Join(dir, "cap.pcap")
		var moved int
		code, stderr := liveRunCLI(t, v, func() {
			v.replay(t, half[0], "--mbps=50")
			time.Sleep(300 * time.Millisecond)
			// what logrotate does: move every file away, then SIGHUP
			for i := 1; i <= 3; i++ {
				if err := os.Rename(log, fmt.Sprintf("%s.%d", log, i)); err != nil {
					t.Error(err)
				}
				if err := os.Rename(pcap, fmt.Sprintf("%s.%d", pcap, i)); err != nil {
					t.Error(err)
				}
				moved++
				if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			v.replay(t, half[1], "--mbps=50")
		}, "--workers", "2", "--conn-log", log, "--digest", "-w", pcap)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// the -w files, moved ones first, hold the traffic, as one capture
		var pcaps []string
		for i := 1; i <= moved; i++ {
			pcaps = append(pcaps, fmt.Sprintf("%s.%d", pcap, i))
		}
		liveCompare(t, want, offlineSetOf(t, append(pcaps, pcap)...))
		got := liveConnSet(t, log)
		var n []int
		for i := 1; i <= moved; i++ {
			s := liveConnSet(t, fmt.Sprintf("%s.%d", log, i))
			n = append(n, len(s))
			got = append(got, s...)
		}
		slices.Sort(got)
		// the connections of the first half are in the moved files, the
		// rest in the new one
		if n[0] == 0 || len(liveConnSet(t, log)) == 0 {
			t.Errorf("lines per file: moved %v, new %d", n, len(liveConnSet(t, log)))
		}
		liveCompare(t, want, got)
	})
}

// offlineSetOf is liveOfflineSet of files read in order as one capture.
func offlineSetOf(t *testing.T, files ...string) []string {
	t.Helper()
	log := filepath.Join(t.TempDir(), "offline.log")
	args := []string{"--conn-log", log, "--digest", "-q"}
	for _, f := range files {
		args = append(args, "-r", f)
	}
	var stderr bytes.Buffer
	if c := run(context.Background(), args, io.Discard, &stderr); c != 0 {
		t.Fatalf("-r: exit %d: %s", c, stderr.String())
	}
	return liveConnSet(t, log)
}
