package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

// runFlood writes the -flood capture: packets come from flowgen.Flood, the
// connection flags do not apply.
func runFlood(kind, start string, span time.Duration, cfg flowgen.Config, preset, truth, out string, quiet bool, stdout, stderr io.Writer) error {
	k, err := flowgen.ParseFloodKind(kind)
	if err != nil {
		return err
	}
	if preset != "" || truth != "" {
		return fmt.Errorf("-flood takes neither -preset nor -truth")
	}
	if out == "" {
		return fmt.Errorf("-flood needs -o")
	}
	f := flowgen.Flood{Kind: k, Seed: cfg.Seed, Packets: cfg.Packets, Span: span}
	if start != "" {
		if f.Start, err = parseUnixNanos(start); err != nil {
			return fmt.Errorf("-start: %w", err)
		}
	}
	t0 := time.Now()
	if err := writeTo(out, stdout, f.WritePcap); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(stderr, "flowgen: %d packets, %s flood (written in %v)\n", f.Len(), k, time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// parseUnixNanos parses "SECONDS[.FRACTION]" (as capinfos -a -S prints)
// exactly, without going through a float.
func parseUnixNanos(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || n > 1<<33 {
		return 0, fmt.Errorf("%q is not Unix seconds", s)
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	var ns int64
	if frac != "" {
		v, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not Unix seconds", s)
		}
		ns = int64(v)
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
	}
	return n*1e9 + ns, nil
}
