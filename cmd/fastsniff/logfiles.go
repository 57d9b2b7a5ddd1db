package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// rotateOptions are --rotate and --rotate-gzip, and the run's log files.
type rotateOptions struct {
	interval time.Duration
	gzip     bool
	// set holds the run's log files (made by the run: its clock is the
	// source's); nil until then.
	set *logfile.Set
	// capture, reading a file with rotation, stamps every log line with
	// the capture time it was logged at, on its worker's clock, and the
	// files are rotated by the stamps (logfile.Capture); nil live, where
	// the wall clock when a line is written rotates.
	capture *logfile.Capture
}

func addRotateFlags(fs *flag.FlagSet, o *rotateOptions) {
	fs.DurationVar(&o.interval, "rotate", 0, "close every log at each boundary of `INTERVAL` (capture clock with -r, wall clock with -i) and rename it with its span, e.g. conn.2026-12-02-10-00-00_11-00-00.json")
	fs.BoolVar(&o.gzip, "rotate-gzip", false, "with --rotate: gzip each closed log in the background")
}

func checkRotateOptions(o *options) error {
	r := &o.rotate
	switch {
	case r.interval < 0:
		return fmt.Errorf("--rotate %v: want a positive interval", r.interval)
	case r.interval > 0 && r.interval < time.Second:
		return fmt.Errorf("--rotate %v: want at least 1s", r.interval)
	case r.gzip && r.interval == 0:
		return fmt.Errorf("--rotate-gzip needs --rotate INTERVAL")
	case r.interval > 0 && o.connLog == "-":
		return fmt.Errorf("--rotate: --conn-log - (standard output) cannot be rotated")
	case r.interval > 0 && o.http.log == "-":
		return fmt.Errorf("--rotate: --http-log - (standard output) cannot be rotated")
	case r.interval > 0 && o.ssl.log == "-":
		return fmt.Errorf("--rotate: --ssl-log - (standard output) cannot be rotated")
	}
	return nil
}

// newLogSet makes the run's set of log files on clock (and first, the
// first packet's time, for -r), warning on stderr.
func (o *rotateOptions) newLogSet(clock, first func() time.Time, warn func(error)) {
	o.set = logfile.NewSet(logfile.Options{Interval: o.interval, Gzip: o.gzip, Clock: clock, First: first, Warn: warn})
}

// logWriter opens the file under the JSON-lines log that flag (e.g.
// "--conn-log") names: standard output for "-" (never rotated, never
// closed), otherwise a file of the run's set, rotated by --rotate and
// reopened on SIGHUP. Every JSON-lines log opens its file here.
func (o *options) logWriter(flag, path string, stdout io.Writer) (io.WriteCloser, error) {
	if path == "-" {
		if o.rotate.interval > 0 {
			return nil, fmt.Errorf("--rotate: %s - (standard output) cannot be rotated", flag)
		}
		return nopCloser{stdout}, nil
	}
	if o.rotate.set == nil {
		o.rotate.newLogSet(nil, nil, nil)
	}
	return o.rotate.set.Create(path)
}

// withClock returns h, the handler of a worker whose logs (h itself or
// among hs) stamp their lines, so that the worker gives them its clock
// (engine/worker.Clocked).
func withClock(h reassembly.Handler, hs []reassembly.Handler) reassembly.Handler {
	c := clockedHandler{Handler: h}
	for _, x := range append([]reassembly.Handler{h}, hs...) {
		if l, ok := x.(worker.Clocked); ok {
			c.logs = append(c.logs, l)
		}
	}
	return c
}

// clockedHandler hands the worker's clock to the logs under it.
type clockedHandler struct {
	reassembly.Handler
	logs []worker.Clocked
}

func (c clockedHandler) UseClock(now func() int64) {
	for _, l := range c.logs {
		l.UseClock(now)
	}
}

// Advanced passes the worker's clock after each batch to the logs, which
// then close the rotated files every worker has passed
// (engine/worker.Ticker).
func (c clockedHandler) Advanced(now int64) {
	for _, l := range c.logs {
		if t, ok := l.(worker.Ticker); ok {
			t.Advanced(now)
		}
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// onHangup calls reopen on every SIGHUP until the returned stop is called
// (logrotate: it moved the files, fastsniff opens them again).
func onHangup(reopen func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-ch:
				reopen()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}

// tickEvery calls f every d until the returned stop is called.
func tickEvery(d time.Duration, f func()) (stop func()) {
	t := time.NewTicker(d)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	return func() {
		t.Stop()
		close(done)
		<-finished
	}
}
