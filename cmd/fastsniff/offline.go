package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
)

// runOffline is `fastsniff -r`.
func runOffline(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	ms, err := startMetrics(ctx, &o.metrics, stderr, o.quiet)
	if err != nil {
		return err
	}
	defer ms.close()
	prog := newProgress(stderr, o.files, o.quiet)
	// the tap first: the logs' rotation follows its capture clock
	tap, pw, err := offlineTap(o, stdout, func(err error) {
		prog.clear()
		fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err)
	})
	if err != nil {
		return err
	}
	outs, err := openOutputs(o, stdout, ms)
	if err != nil {
		_ = tap.close()
		return err
	}
	filter, err := offlineFilter(o)
	if err != nil {
		_ = outs.close()
		_ = tap.close()
		return err
	}
	stopHUP := onHangup(func() {
		_ = o.rotate.set.Reopen() // errors come back from the logs' writes
		if pw != nil {
			pw.Reopen()
		}
	})
	cfg := offline.Config{
		Workers:    o.workers,
		Reassembly: o.reasm,
		Decode:     o.decodeConfig(),
		Handler:    outs.handler,
		Filter:     filter,
		Started:    ms.offlineStarted(),
		Progress:   prog.update,
		Tap:        tap.hook(o),
		Warn: func(err error) {
			prog.clear()
			fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err)
		},
	}
	sum, runErr := offline.Run(ctx, cfg, o.files...)
	ms.offlineDone(sum)
	prog.clear()
	stopHUP()
	closeErr := outs.close()
	o.rotate.set.Wait()
	if err := tap.close(); err != nil && closeErr == nil {
		closeErr = err
	}
	if runErr != nil {
		return runErr
	}
	if !o.quiet {
		printSummary(stderr, &sum)
		if pw != nil {
			printPcapSummary(stderr, pw.Stats())
		}
	}
	return closeErr
}

// offlineFilter returns the -r twin of the kernel filter: non-TCP packets
// dropped, then the user's expression, compiled per link type on first use
// (by each reading worker for itself).
func offlineFilter(o *options) (func() offline.Accept, error) {
	if o.filter == "" {
		return nil, nil
	}
	// compile once up front for Ethernet so a bad expression fails early
	if _, err := bpf.NewMatcher(o.filter, 1); err != nil {
		return nil, fmt.Errorf("filter %q: %v", o.filter, err)
	}
	var warned sync.Map // link types whose compile failure was reported
	return func() offline.Accept {
		matchers := map[decode.LinkType]*bpf.Matcher{}
		return func(link decode.LinkType, frame []byte, origLen int) bool {
			m, ok := matchers[link]
			if !ok {
				var err error
				if m, err = bpf.NewMatcher(o.filter, int(link)); err != nil {
					if _, dup := warned.LoadOrStore(link, true); !dup {
						fmt.Fprintf(os.Stderr, "fastsniff: warning: filter on link type %d: %v (its packets are dropped)\n", link, err)
					}
				}
				matchers[link] = m
			}
			return m != nil && m.MatchLen(frame, origLen)
		}
	}, nil
}
