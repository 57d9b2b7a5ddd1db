package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Every way of reading takes every record exactly once: the same count
// and the same bytes touched as one reader, on a capture of 500
// connections; split reads each of its files in full.
func TestModesReadEveryRecordOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pcap")
	gunzip(t, "../../testdata/pcaps/zk-echo-500-conns.pcap.gz", path)
	one, err := replicated(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if one.owned < 80000 {
		t.Fatalf("one reader took %d records", one.owned)
	}
	stripedRun, err := striped(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() (counts, error){
		"replicated":   func() (counts, error) { return replicated(path, 2) },
		"striped":      stripedRun,
		"mapped":       func() (counts, error) { return mapped(path, 2) },
		"replicated 3": func() (counts, error) { return replicated(path, 3) },
	} {
		got, err := run()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != one {
			t.Errorf("%s: %+v, one reader %+v", name, got, one)
		}
	}
	both, err := split([]string{path, path})
	if err != nil {
		t.Fatal(err)
	}
	if both.owned != 2*one.owned || both.sum != 2*one.sum {
		t.Errorf("split over the file twice: %+v, one reader %+v", both, one)
	}
	// the two readers of replicated each own a part
	var part counts
	if part, err = readAll(path, 0, 2); err != nil {
		t.Fatal(err)
	}
	if part.owned == 0 || part.owned == one.owned {
		t.Errorf("reader 0 of 2 owns %d of %d records", part.owned, one.owned)
	}
}

func gunzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
