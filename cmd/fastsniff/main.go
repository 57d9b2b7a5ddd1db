// Command fastsniff captures or reads TCP traffic and reassembles every
// connection into its two ordered byte streams: connection logs, per-flow
// stream files and HTTP logs are built on them.
//
//	fastsniff -r FILE [-r FILE...] [flags] [FILTER...]
//
// See README.md and docs/ for the flags and the output formats.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program with its outside world passed in, so tests can
// drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "collect" {
		return runCollect(ctx, args[1:], stdout, stderr) // collect.go
	}
	opt, err := parseArgs(args, stderr)
	if err != nil {
		if err == errHelp {
			return 0
		}
		if err == errVersion {
			printVersion(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "fastsniff: %v\n", err)
		return 2
	}
	if opt.cpuProfile != "" {
		f, err := os.Create(opt.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fastsniff: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "fastsniff: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if opt.memProfile != "" {
		f, err := os.Create(opt.memProfile)
		if err != nil {
			fmt.Fprintf(stderr, "fastsniff: %v\n", err)
			return 1
		}
		// written at exit: what the run still holds (pools, free lists)
		// and, as alloc_space, everything it allocated
		defer func() {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}()
	}
	runner := runOffline
	if opt.live.iface != "" {
		runner = runLive
	}
	if err := runner(ctx, opt, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "fastsniff: %v\n", err)
		return exitCode(err) // nats.go
	}
	return 0
}
