package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --cpuprofile and --memprofile write pprof profiles (gzipped protobuf)
// of the run; an unwritable path is an error before any packet is read.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	var stderr bytes.Buffer
	args := []string{"-r", "../../testdata/pcaps/sniffer-06-gmail.pcap", "-q", "--cpuprofile", cpu, "--memprofile", mem}
	if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, tc := range []struct {
		path string
		want []string // sample types, in the profile's string table
	}{
		{cpu, []string{"samples", "cpu", "nanoseconds"}},
		{mem, []string{"alloc_objects", "alloc_space", "inuse_objects", "inuse_space", "bytes"}},
	} {
		f, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: not a gzipped profile: %v", tc.path, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		for _, s := range tc.want {
			if !bytes.Contains(b, []byte(s)) {
				t.Errorf("%s: %d bytes without sample type %q", tc.path, len(b), s)
			}
		}
	}
	for _, flag := range []string{"--cpuprofile", "--memprofile"} {
		stderr.Reset()
		bad := filepath.Join(dir, "missing", "p.pprof")
		code := run(context.Background(), []string{"-r", "../../testdata/pcaps/sniffer-06-gmail.pcap", "-q", flag, bad}, &bytes.Buffer{}, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), bad) {
			t.Errorf("%s %s: exit %d, stderr %q", flag, bad, code, stderr.String())
		}
	}
}
