package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	p1, p2, tr := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap"), filepath.Join(dir, "a.jsonl")
	var stderr bytes.Buffer
	args := []string{"-preset", "mixed", "-seed", "4", "-conns", "30", "-rst", "0.5", "-o", p1, "-truth", tr}
	if err := run(args, nil, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "30 connections") {
		t.Fatalf("summary %q", stderr.String())
	}
	if err := run([]string{"-preset", "mixed", "-seed", "4", "-conns", "30", "-rst", "0.5", "-o", p2, "-q"}, nil, &stderr); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(p1)
	b, _ := os.ReadFile(p2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("same flags, different pcaps")
	}
	// The file equals the library's output for the same Config.
	cfg := flowgen.Mixed(4)
	cfg.Conns, cfg.RST = 30, 0.5
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var lib bytes.Buffer
	if err := c.WritePcap(&lib); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, lib.Bytes()) {
		t.Fatal("flags did not override the preset as the library would")
	}
	f, err := os.Open(tr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := flowgen.ReadTruth(f)
	if err != nil || len(truth) != 30 {
		t.Fatalf("truth: %d lines, %v", len(truth), err)
	}
	var stdout bytes.Buffer
	if err := run([]string{"-conns", "2", "-truth", "-", "-q"}, &stdout, &stderr); err != nil || strings.Count(stdout.String(), "\n") != 2 {
		t.Fatalf("truth to stdout: %v %q", err, stdout.String())
	}
	for _, bad := range [][]string{{}, {"-o", "-", "-truth", "-"}, {"-preset", "nope", "-o", p1}, {"-loss", "2", "-o", p1}, {"-o", p1, "extra"}} {
		if err := run(bad, &stdout, &stderr); err == nil {
			t.Errorf("run(%q): no error", bad)
		}
	}
}
