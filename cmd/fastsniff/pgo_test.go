package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// default.pgo is the profile `go build` optimises fastsniff with
// (-pgo=auto; scripts/pgo-profile makes it): it must be a CPU profile and
// hold samples of every hot path it is meant to speed up, offline and
// live, or the build silently loses the gain (docs/PERFORMANCE.md).
func TestBuildProfileCoversHotPaths(t *testing.T) {
	f, err := os.Open("default.pgo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("default.pgo: not a gzipped profile: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// function names are in the profile's string table
	for _, fn := range []string{
		"cpu", "nanoseconds",
		"engine/offline.replica",          // reading a file
		"engine/live.(*lworker).block",    // a ring block, live
		"engine/decode.(*Decoder).Decode", // decoding
		"reassembly.(*Table).Feed",        // every segment
		"reassembly.(*Table).deliver",     // ordinary traffic
		"reassembly.(*embryos).add",       // a SYN flood
		"reassembly.(*embryos).lookup",    // an ACK flood
		"outputs/httplog.(*Handler).Sent", // the HTTP log
	} {
		if !bytes.Contains(b, []byte(fn)) {
			t.Errorf("default.pgo has no samples in %s: regenerate it (scripts/pgo-profile)", fn)
		}
	}
}
