package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/flowfiles"
	"github.com/fastsniff/fastsniff/reassembly"
)

// runOffline is `fastsniff -r`.
func runOffline(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	ms, err := startMetrics(&o.metrics, stderr, o.quiet)
	if err != nil {
		return err
	}
	defer ms.close()
	var outs []func(worker int) reassembly.Handler
	var closers []func() error
	if o.connLog != "" {
		var log *connlog.Log
		if o.connLog == "-" {
			log = connlog.New(stdout, connlog.Options{Digest: o.digest})
		} else if log, err = connlog.Create(o.connLog, connlog.Options{Digest: o.digest}); err != nil {
			return err
		}
		outs = append(outs, func(int) reassembly.Handler { return log.Handler() })
		closers = append(closers, log.Close)
	}
	if o.flowsDir != "" {
		w, err := flowfiles.New(o.flowsDir, flowfiles.Options{})
		if err != nil {
			return err
		}
		outs = append(outs, func(int) reassembly.Handler { return w.Handler() })
		closers = append(closers, w.Close)
	}
	hl, err := openHTTP(&o.http, stdout)
	if err != nil {
		return err
	}
	if hl != nil {
		outs = append(outs, hl.handler)
		closers = append(closers, hl.Close)
		ms.addHTTP(hl)
	}
	accept, err := offlineFilter(o)
	if err != nil {
		return err
	}
	prog := newProgress(stderr, o.files, o.quiet)
	cfg := offline.Config{
		Workers:    o.workers,
		Reassembly: o.reasm,
		Decode:     decode.Config{VerifyChecksums: o.checksums},
		Handler: func(i int) reassembly.Handler {
			hs := make([]reassembly.Handler, 0, len(outs))
			for _, f := range outs {
				hs = append(hs, f(i))
			}
			if len(hs) == 0 {
				return reassembly.Funcs{}
			}
			return reassembly.Multi(hs...)
		},
		Accept:   accept,
		Started:  ms.offlineStarted(),
		Progress: prog.update,
		Warn: func(err error) {
			prog.clear()
			fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err)
		},
	}
	sum, runErr := offline.Run(ctx, cfg, o.files...)
	ms.offlineDone(sum)
	prog.clear()
	var closeErr error
	for _, c := range closers {
		if err := c(); err != nil && closeErr == nil {
			closeErr = err
		}
	}
	if runErr != nil {
		return runErr
	}
	if !o.quiet {
		printSummary(stderr, &sum)
	}
	return closeErr
}

// offlineFilter returns the -r twin of the kernel filter: non-TCP packets
// dropped, then the user's expression, compiled per link type on first use.
func offlineFilter(o *options) (func(decode.LinkType, []byte, int) bool, error) {
	if o.filter == "" {
		return nil, nil
	}
	// compile once up front for Ethernet so a bad expression fails early
	if _, err := bpf.NewMatcher(o.filter, 1); err != nil {
		return nil, fmt.Errorf("filter %q: %v", o.filter, err)
	}
	matchers := map[decode.LinkType]*bpf.Matcher{}
	var failed map[decode.LinkType]bool
	return func(link decode.LinkType, frame []byte, origLen int) bool {
		m, ok := matchers[link]
		if !ok {
			var err error
			if m, err = bpf.NewMatcher(o.filter, int(link)); err != nil {
				if failed == nil {
					failed = map[decode.LinkType]bool{}
				}
				if !failed[link] {
					failed[link] = true
					fmt.Fprintf(os.Stderr, "fastsniff: warning: filter on link type %d: %v (its packets are dropped)\n", link, err)
				}
			}
			matchers[link] = m
		}
		return m != nil && m.MatchLen(frame, origLen)
	}, nil
}
