package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The eviction warning: on the first eviction, then at most once a minute,
// looking at the clock every warnEvery evictions, with exact counts.
func TestEvictionWarning(t *testing.T) {
	var out strings.Builder
	e := &evictions{w: &out, budget: 64 << 20}
	e.add(true, false)
	want := "fastsniff: warning: memory budget (--max-memory 64 MiB) reached: 1 connections evicted so far (1 half-open, 0 with buffered bytes)\n"
	if out.String() != want {
		t.Fatalf("first warning %q, want %q", out.String(), want)
	}
	out.Reset()
	for i := 2; i <= 3*warnEvery; i++ {
		e.add(i%3 != 0, i%5 == 0)
	}
	if out.Len() != 0 {
		t.Fatalf("warned again within the minute: %q", out.String())
	}
	// a minute later: the next look at the clock warns
	e.lastWarn.Store(time.Now().Add(-61 * time.Second).UnixNano())
	for i := 3*warnEvery + 1; i <= 4*warnEvery; i++ {
		e.add(i%3 != 0, i%5 == 0)
	}
	n := 4 * warnEvery
	half, buf := 0, 0
	for i := 1; i <= n; i++ {
		if i == 1 || i%3 != 0 {
			half++
		}
		if i != 1 && i%5 == 0 {
			buf++
		}
	}
	want = "fastsniff: warning: memory budget (--max-memory 64 MiB) reached: 1024 connections evicted so far (" +
		strconv.Itoa(half) + " half-open, " + strconv.Itoa(buf) + " with buffered bytes)\n"
	if out.String() != want {
		t.Fatalf("warning after a minute %q, want %q", out.String(), want)
	}
}
