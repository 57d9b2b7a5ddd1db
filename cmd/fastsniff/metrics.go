package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/outputs/metrics"
)

// metricsOptions are the metrics flags.
type metricsOptions struct {
	addr string
}

func addMetricsFlags(fs *flag.FlagSet, o *metricsOptions) {
	fs.StringVar(&o.addr, "metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics (host:port, listening on that address only; off by default)")
}

// metricsHookKey carries, in the context given to run (tests only), a
// func(addr string) called with the address the metrics server listens on
// once the capture is over and every output is closed, just before the
// server stops.
type metricsHookKey struct{}

// withMetricsHook returns ctx carrying hook (see metricsHookKey).
func withMetricsHook(ctx context.Context, hook func(addr string)) context.Context {
	return context.WithValue(ctx, metricsHookKey{}, hook)
}

// metricsServer is the --metrics endpoint of a run. A nil *metricsServer
// (no --metrics) accepts every call and does nothing.
type metricsServer struct {
	col  *metrics.Collector
	srv  *metrics.Server
	hook func(addr string)
}

// startMetrics starts the server, or returns nil without --metrics.
func startMetrics(ctx context.Context, o *metricsOptions, stderr io.Writer, quiet bool) (*metricsServer, error) {
	if o.addr == "" {
		return nil, nil
	}
	col := metrics.NewCollector()
	srv, err := metrics.Listen(o.addr, col)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %v", err)
	}
	if !quiet {
		fmt.Fprintf(stderr, "fastsniff: metrics on http://%s/metrics\n", srv.Addr())
	}
	hook, _ := ctx.Value(metricsHookKey{}).(func(string))
	return &metricsServer{col: col, srv: srv, hook: hook}, nil
}

// set adds or replaces a named source ("engine", "http", "kernel",
// "bpf", ...).
func (m *metricsServer) set(name string, src metrics.Source) {
	if m != nil {
		m.col.Set(name, src)
	}
}

// addHTTP reports the HTTP log's counters (h may be nil).
func (m *metricsServer) addHTTP(h *httpOutput) {
	if h != nil {
		m.set("http", h.source())
	}
}

// offlineStarted is offline.Config.Started: the engine's live counters
// become the "engine" source. Nil without --metrics.
func (m *metricsServer) offlineStarted() func(*offline.Status) {
	if m == nil {
		return nil
	}
	return func(st *offline.Status) {
		m.set("engine", func(s *metrics.Snapshot) {
			sum := st.Snapshot()
			fillFromSummary(s, &sum)
		})
	}
}

// offlineDone reports the final Summary of a finished Run from now on.
func (m *metricsServer) offlineDone(sum offline.Summary) {
	m.set("engine", func(s *metrics.Snapshot) { fillFromSummary(s, &sum) })
}

func fillFromSummary(s *metrics.Snapshot, sum *offline.Summary) {
	s.Packets, s.Bytes, s.Filtered, s.Segments = sum.Packets, sum.Bytes, sum.Filtered, sum.Segments
	s.Warnings = uint64(sum.Warnings)
	s.Decode = sum.Decode
	s.Reassembly = sum.Reassembly
	s.PerWorker = sum.PerWorker
}

// close stops the server (after the test hook, if any).
func (m *metricsServer) close() {
	if m == nil {
		return
	}
	if m.hook != nil {
		m.hook(m.srv.Addr().String())
	}
	m.srv.Close()
}
