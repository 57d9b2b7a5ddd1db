package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

func TestRunFlood(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "syn.pcap")
	var stderr bytes.Buffer
	if err := run([]string{"-flood", "syn", "-packets", "5000", "-seed", "7", "-start", "1600000000.25", "-span", "3s", "-o", p}, nil, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "5000 packets, syn flood") {
		t.Fatalf("summary %q", stderr.String())
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	f := flowgen.Flood{Kind: flowgen.FloodSYN, Seed: 7, Packets: 5000, Start: 1600000000_250000000, Span: 3 * time.Second}
	if err := f.WritePcap(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("flags did not make the library's flood")
	}
	var stdout bytes.Buffer
	if err := run([]string{"-flood", "rstfin", "-packets", "10", "-o", "-", "-q"}, &stdout, &stderr); err != nil || stdout.Len() != 24+10*(16+54) {
		t.Fatalf("rstfin to stdout: %v, %d bytes", err, stdout.Len())
	}
	for _, bad := range [][]string{
		{"-flood", "udp", "-o", p}, {"-flood", "syn"}, {"-flood", "syn", "-preset", "bench", "-o", p},
		{"-flood", "syn", "-truth", p}, {"-flood", "ack", "-start", "yesterday", "-o", p}, {"-flood", "ack", "-packets", "-3", "-o", p},
	} {
		if err := run(bad, &stdout, &stderr); err == nil {
			t.Errorf("run(%q): no error", bad)
		}
	}
}

func TestParseUnixNanos(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1577836800", 1577836800e9, true},
		{"1577836800.5", 1577836800_500000000, true},
		{"1577836800.000001", 1577836800_000001000, true},
		{"1577836800.123456789123", 1577836800_123456789, true},
		{"-1", 0, false},
		{"1.x", 0, false},
		{"", 0, false},
		{"99999999999", 0, false},
	} {
		got, err := parseUnixNanos(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseUnixNanos(%q) = %d, %v", tc.in, got, err)
		}
	}
}

// FuzzParseUnixNanos: any text gives a value or an error, never a panic;
// a value prints back ("S.NNNNNNNNN") to itself.
func FuzzParseUnixNanos(f *testing.F) {
	for _, s := range []string{"0", "1577836800.5", "1.000000001", "x", "1.", ".5", "8589934592.999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseUnixNanos(s)
		if err != nil {
			return
		}
		if ns < 0 {
			t.Fatalf("%q: %d", s, ns)
		}
		back := fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9)
		if again, err := parseUnixNanos(back); err != nil || again != ns {
			t.Fatalf("%q: %d, printed %q, parsed back %d, %v", s, ns, back, again, err)
		}
	})
}
