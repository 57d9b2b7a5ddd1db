// Package metrics exposes the engine's counters to Prometheus.
//
// Nothing is updated per packet: a Collector asks its Sources for a
// Snapshot at scrape time and turns it into constant metrics. A Source is
// a function that fills in the part of the Snapshot it knows: the engine's
// counters (packets, decode results, reassembly stats summed over workers,
// per-worker segments), the HTTP log's, and, for a live capture, the
// kernel's drop counters and the BPF program's filter and bypass counters.
// Each source reads counters its owner publishes once per batch (or per
// transaction), so a scrape never takes a lock the packet path takes per
// packet.
//
//	col := metrics.NewCollector()
//	col.Set("engine", func(s *metrics.Snapshot) { ... })
//	srv, err := metrics.Listen("127.0.0.1:9100", col)
//	... srv.Addr() is the address actually bound (port 0 picks one) ...
//	srv.Close()
//
// METRICS.md lists every metric.
package metrics

import (
	"errors"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/outputs/httplog"
	"github.com/fastsniff/fastsniff/outputs/ssllog"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Snapshot is what one scrape reports. The zero value reports zeros for
// the engine counters; the optional parts are reported only when set.
type Snapshot struct {
	Packets  uint64 // packets read (file) or received (live)
	Bytes    uint64 // captured bytes
	Filtered uint64 // packets rejected by the user's filter in user space
	Segments uint64 // TCP segments handed to workers
	Warnings uint64 // non-fatal input problems (truncated files, ...)

	Decode     decode.Stats
	Reassembly reassembly.Stats // summed over workers
	PerWorker  []uint64         // segments fed to each worker

	// HTTP is the HTTP log's counters, nil without --http-log.
	HTTP *httplog.Stats
	// Kernel is the capture socket's counters, nil when not live.
	Kernel *KernelStats
	// Filter is the kernel BPF program's counters, nil when none runs.
	Filter *bpf.Counters
	// NATS is the NATS sink's counters, nil without --nats.
	NATS *NATSStats
	// SSL is the TLS log's counters, nil without --ssl-log.
	SSL *ssllog.Stats
}

// KernelStats are a live capture socket's counters (PACKET_STATISTICS,
// summed over sockets and made cumulative by the source).
type KernelStats struct {
	Packets     uint64 // packets the kernel passed to the ring (tp_packets)
	Drops       uint64 // packets dropped because the ring was full (tp_drops)
	FreezeQueue uint64 // times the TPACKET_V3 queue froze (tp_freeze_q_cnt)
}

// Source fills in its part of a Snapshot. It is called at scrape time,
// from the scraping goroutine.
type Source func(*Snapshot)

// Collector is a prometheus.Collector over named Sources.
type Collector struct {
	mu    sync.Mutex
	names []string
	srcs  map[string]Source
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector without sources (it reports zeros).
func NewCollector() *Collector { return &Collector{srcs: map[string]Source{}} }

// Set adds the source called name, or replaces it (nil removes it).
// Sources run in the order their names were first set.
func (c *Collector) Set(name string, s Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == nil {
		delete(c.srcs, name)
		for i, n := range c.names {
			if n == name {
				c.names = append(c.names[:i], c.names[i+1:]...)
				break
			}
		}
		return
	}
	if _, ok := c.srcs[name]; !ok {
		c.names = append(c.names, name)
	}
	c.srcs[name] = s
}

// Snapshot runs the sources into a new Snapshot.
func (c *Collector) Snapshot() Snapshot {
	var s Snapshot
	c.mu.Lock()
	srcs := make([]Source, 0, len(c.names))
	for _, n := range c.names {
		srcs = append(srcs, c.srcs[n])
	}
	c.mu.Unlock()
	for _, src := range srcs {
		src(&s)
	}
	return s
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range plain {
		ch <- m.desc
	}
	for _, d := range []*prometheus.Desc{descDecodeResult, descMalformed, descClosed, descWorkerSegs} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.Snapshot()
	for _, m := range plain {
		v, ok := m.val(&s)
		if ok {
			ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v)
		}
	}
	d := &s.Decode
	for _, r := range []struct {
		name string
		v    uint64
	}{{"tcp", d.TCP}, {"not_tcp", d.NotTCP}, {"fragment", d.Fragment}, {"malformed", d.Malformed}} {
		ch <- prometheus.MustNewConstMetric(descDecodeResult, prometheus.CounterValue, float64(r.v), r.name)
	}
	for r := decode.Reason(1); r < decode.NumReasons; r++ {
		ch <- prometheus.MustNewConstMetric(descMalformed, prometheus.CounterValue, float64(d.Reasons[r]), r.String())
	}
	for r := reassembly.ReasonFIN; r <= reassembly.ReasonShutdown; r++ {
		ch <- prometheus.MustNewConstMetric(descClosed, prometheus.CounterValue, float64(s.Reassembly.ClosedBy(r)), r.String())
	}
	for i, n := range s.PerWorker {
		ch <- prometheus.MustNewConstMetric(descWorkerSegs, prometheus.CounterValue, float64(n), strconv.Itoa(i))
	}
}

const ns = "fastsniff"

func name(n string) string { return ns + "_" + n }

var (
	descDecodeResult = prometheus.NewDesc(name("decode_packets_total"), "Packets decoded, by result (tcp, not_tcp, fragment: IP fragment buffered, malformed).", []string{"result"}, nil)
	descMalformed    = prometheus.NewDesc(name("decode_malformed_total"), "Malformed packets, by reason.", []string{"reason"}, nil)
	descClosed       = prometheus.NewDesc(name("connections_closed_total"), "Connections closed, by reason (fin, rst, timeout, evicted, reused, flush, shutdown).", []string{"reason"}, nil)
	descWorkerSegs   = prometheus.NewDesc(name("worker_segments_total"), "TCP segments fed to each worker.", []string{"worker"}, nil)
)

// metric is one unlabelled metric read from a Snapshot; ok false leaves
// it out of the scrape (an optional part that is not there).
type metric struct {
	name string
	desc *prometheus.Desc
	typ  prometheus.ValueType
	val  func(*Snapshot) (float64, bool)
}

func counter(n, help string, f func(*Snapshot) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.CounterValue,
		func(s *Snapshot) (float64, bool) { return float64(f(s)), true }}
}

func gauge(n, help string, f func(*Snapshot) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.GaugeValue,
		func(s *Snapshot) (float64, bool) { return float64(f(s)), true }}
}

func httpCounter(n, help string, f func(*httplog.Stats) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.CounterValue,
		func(s *Snapshot) (float64, bool) {
			if s.HTTP == nil {
				return 0, false
			}
			return float64(f(s.HTTP)), true
		}}
}

func kernelCounter(n, help string, f func(*KernelStats) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.CounterValue,
		func(s *Snapshot) (float64, bool) {
			if s.Kernel == nil {
				return 0, false
			}
			return float64(f(s.Kernel)), true
		}}
}

func bpfCounter(n, help string, f func(*bpf.Counters) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.CounterValue,
		func(s *Snapshot) (float64, bool) {
			if s.Filter == nil {
				return 0, false
			}
			return float64(f(s.Filter)), true
		}}
}

var plain = append([]metric{
	counter("packets_total", "Packets read (file) or received (live).", func(s *Snapshot) uint64 { return s.Packets }),
	counter("bytes_total", "Captured bytes of those packets.", func(s *Snapshot) uint64 { return s.Bytes }),
	counter("filtered_packets_total", "Packets rejected by the filter expression in user space.", func(s *Snapshot) uint64 { return s.Filtered }),
	counter("tcp_segments_total", "TCP segments handed to the workers.", func(s *Snapshot) uint64 { return s.Segments }),
	counter("warnings_total", "Non-fatal input problems (e.g. a file truncated mid-packet).", func(s *Snapshot) uint64 { return s.Warnings }),

	counter("decode_not_ip_total", "Packets that were not IP at all.", func(s *Snapshot) uint64 { return s.Decode.NotIP }),
	counter("decode_snap_cut_packets_total", "Packets cut by the snap length.", func(s *Snapshot) uint64 { return s.Decode.SnapCutPackets }),
	counter("decode_snap_cut_bytes_total", "Bytes cut by the snap length.", func(s *Snapshot) uint64 { return s.Decode.SnapCutBytes }),
	counter("decode_ip_fragments_total", "IP fragments seen.", func(s *Snapshot) uint64 { return s.Decode.Fragments }),
	counter("decode_fragments_reassembled_total", "IP datagrams reassembled from fragments.", func(s *Snapshot) uint64 { return s.Decode.FragReassembled }),
	counter("decode_fragment_timeouts_total", "Fragmented datagrams dropped incomplete after the timeout.", func(s *Snapshot) uint64 { return s.Decode.FragTimeouts }),
	counter("decode_fragment_evictions_total", "Fragmented datagrams dropped incomplete to make room.", func(s *Snapshot) uint64 { return s.Decode.FragEvictions }),
	counter("decode_fragments_dropped_total", "Buffered fragments thrown away with dropped datagrams.", func(s *Snapshot) uint64 { return s.Decode.FragDropped }),
	gauge("decode_fragments_pending", "Fragmented datagrams waiting for their missing fragments.", func(s *Snapshot) uint64 { return s.Decode.FragPending }),

	counter("reassembly_segments_total", "Segments fed to the reassembly tables.", func(s *Snapshot) uint64 { return s.Reassembly.Packets }),
	counter("reassembly_payload_bytes_total", "Payload bytes fed to the reassembly tables.", func(s *Snapshot) uint64 { return s.Reassembly.Bytes }),
	counter("reassembly_delivered_bytes_total", "Stream bytes handed to the outputs.", func(s *Snapshot) uint64 { return s.Reassembly.Delivered }),
	counter("reassembly_unacked_bytes_total", "Of those, bytes delivered without the peer's ACK.", func(s *Snapshot) uint64 { return s.Reassembly.Unacked }),
	counter("reassembly_duplicates_total", "Segments whose bytes were all delivered or buffered already.", func(s *Snapshot) uint64 { return s.Reassembly.Duplicates }),
	counter("reassembly_overlaps_total", "Segments that overlapped buffered bytes.", func(s *Snapshot) uint64 { return s.Reassembly.Overlaps }),
	counter("reassembly_conflicts_total", "Overlaps whose bytes differed from the buffered copy.", func(s *Snapshot) uint64 { return s.Reassembly.Conflicts }),
	counter("reassembly_gaps_total", "Holes reported in streams (bytes never captured).", func(s *Snapshot) uint64 { return s.Reassembly.Gaps }),
	counter("reassembly_missed_bytes_total", "Bytes in those holes.", func(s *Snapshot) uint64 { return s.Reassembly.MissedBytes }),
	counter("reassembly_truncated_bytes_total", "Payload bytes cut by the snap length.", func(s *Snapshot) uint64 { return s.Reassembly.Truncated }),
	counter("reassembly_out_of_window_total", "Segments too far from their stream to be believed.", func(s *Snapshot) uint64 { return s.Reassembly.OutOfWindow }),
	counter("reassembly_ignored_rst_total", "RSTs outside the window (e.g. injected).", func(s *Snapshot) uint64 { return s.Reassembly.IgnoredRST }),
	counter("reassembly_rst_payload_bytes_total", "Bytes carried on RST segments (never delivered).", func(s *Snapshot) uint64 { return s.Reassembly.RSTPayload }),
	counter("reassembly_forced_total", "Times a memory limit forced delivery without ACK.", func(s *Snapshot) uint64 { return s.Reassembly.Forced }),
	counter("reassembly_forced_bytes_total", "Bytes delivered that way.", func(s *Snapshot) uint64 { return s.Reassembly.ForcedBytes }),
	counter("reassembly_ghosts_total", "Packets of closed connections absorbed while lingering.", func(s *Snapshot) uint64 { return s.Reassembly.Ghosts }),
	counter("reassembly_nosyn_dropped_total", "Packets dropped because connections without SYN are ignored.", func(s *Snapshot) uint64 { return s.Reassembly.NoSYN }),
	counter("reassembly_buffer_allocs_total", "Reassembly buffers allocated.", func(s *Snapshot) uint64 { return s.Reassembly.BufAllocs }),
	counter("reassembly_oversize_segments_total", "Segments larger than the largest pooled buffer.", func(s *Snapshot) uint64 { return s.Reassembly.OversizeSegs }),
	gauge("reassembly_buffered_bytes", "Bytes buffered out of order or waiting for ACKs now.", func(s *Snapshot) uint64 { return s.Reassembly.Buffered }),
	gauge("reassembly_buffered_bytes_max", "Highest per-worker buffered bytes so far.", func(s *Snapshot) uint64 { return s.Reassembly.MaxBuffered }),
	counter("connections_opened_total", "TCP connections created.", func(s *Snapshot) uint64 { return s.Reassembly.Opened }),
	counter("connections_midstream_total", "Of those, connections picked up without their SYN.", func(s *Snapshot) uint64 { return s.Reassembly.Midstream }),
	gauge("connections_active", "TCP connections open now.", func(s *Snapshot) uint64 { return s.Reassembly.Active }),
	gauge("connections_half_open", "Of those, half-open ones (one side seen, no payload yet) held in compact form.", func(s *Snapshot) uint64 { return s.Reassembly.HalfOpen }),
	counter("connections_evicted_half_open_total", "Half-open connections evicted by the memory budget, oldest first.", func(s *Snapshot) uint64 { return s.Reassembly.EvictedHalfOpen }),
	counter("connections_evicted_buffered_total", "Connections evicted by the memory budget while holding buffered bytes (delivered, flagged, first).", func(s *Snapshot) uint64 { return s.Reassembly.EvictedBuffered }),

	httpCounter("http_connections_total", "Connections recognised as HTTP.", func(h *httplog.Stats) uint64 { return h.HTTP.HTTPConns }),
	httpCounter("http_ignored_connections_total", "Connections found not to be HTTP.", func(h *httplog.Stats) uint64 { return h.HTTP.NonHTTP }),
	httpCounter("http_transactions_total", "HTTP transactions (lines of the HTTP log), paired or not.", func(h *httplog.Stats) uint64 { return h.HTTP.Transactions }),
	httpCounter("http_requests_total", "HTTP requests parsed.", func(h *httplog.Stats) uint64 { return h.HTTP.Requests }),
	httpCounter("http_responses_total", "HTTP final responses parsed.", func(h *httplog.Stats) uint64 { return h.HTTP.Responses }),
	httpCounter("http_interim_responses_total", "HTTP 1xx interim responses.", func(h *httplog.Stats) uint64 { return h.HTTP.Interim }),
	httpCounter("http_no_response_total", "Requests left without a response when their connection closed.", func(h *httplog.Stats) uint64 { return h.HTTP.NoResponse }),
	httpCounter("http_no_request_total", "Responses without a request.", func(h *httplog.Stats) uint64 { return h.HTTP.NoRequest }),
	httpCounter("http_incomplete_messages_total", "HTTP messages that did not reach their end.", func(h *httplog.Stats) uint64 { return h.HTTP.Incomplete }),
	httpCounter("http_gaps_total", "Capture gaps met in HTTP streams.", func(h *httplog.Stats) uint64 { return h.HTTP.Gaps }),
	httpCounter("http_gap_bytes_total", "Bytes in those gaps.", func(h *httplog.Stats) uint64 { return h.HTTP.GapBytes }),
	httpCounter("http_resyncs_total", "Times the HTTP parser lost its place and looked for the next message.", func(h *httplog.Stats) uint64 { return h.HTTP.Resyncs }),
	httpCounter("http_skipped_bytes_total", "Bytes skipped while resynchronising.", func(h *httplog.Stats) uint64 { return h.HTTP.SkippedBytes }),
	httpCounter("http_parse_errors_total", "Malformed lines, framing or start lines.", func(h *httplog.Stats) uint64 { return h.HTTP.ParseErrors }),
	httpCounter("http_header_limits_total", "Messages that hit a header limit.", func(h *httplog.Stats) uint64 { return h.HTTP.HeaderLimits }),
	httpCounter("http_pipeline_overflows_total", "Requests that found the pipeline queue full.", func(h *httplog.Stats) uint64 { return h.HTTP.Overflows }),
	httpCounter("http_tunnels_total", "Connections turned into tunnels (CONNECT, Upgrade).", func(h *httplog.Stats) uint64 { return h.HTTP.Tunnels }),
	httpCounter("http_tunnel_bytes_total", "Bytes seen in tunnels.", func(h *httplog.Stats) uint64 { return h.HTTP.TunnelBytes }),
	httpCounter("http_body_bytes_total", "Decoded (de-chunked) body bytes parsed.", func(h *httplog.Stats) uint64 { return h.HTTP.BodyBytes }),
	httpCounter("http_logged_total", "Lines formatted for the HTTP log.", func(h *httplog.Stats) uint64 { return h.Logged }),
	httpCounter("http_body_files_total", "Body files started.", func(h *httplog.Stats) uint64 { return h.BodyFiles }),
	httpCounter("http_body_truncated_total", "Body files cut at the size cap.", func(h *httplog.Stats) uint64 { return h.BodyTruncated }),
	httpCounter("http_body_written_bytes_total", "Bytes written to body files.", func(h *httplog.Stats) uint64 { return h.BodyBytes }),
	httpCounter("http_bodies_decoded_total", "Bodies inflated (gzip, deflate).", func(h *httplog.Stats) uint64 { return h.Decoded }),
	httpCounter("http_body_decode_errors_total", "Bodies left raw because they could not be inflated.", func(h *httplog.Stats) uint64 { return h.DecodeErrors }),
	httpCounter("http_log_stalls_total", "Times a worker waited for the HTTP log writer.", func(h *httplog.Stats) uint64 { return h.Stalls }),

	kernelCounter("kernel_packets_total", "Packets the kernel passed to the capture ring.", func(k *KernelStats) uint64 { return k.Packets }),
	kernelCounter("kernel_drops_total", "Packets the kernel dropped because the ring was full.", func(k *KernelStats) uint64 { return k.Drops }),
	kernelCounter("kernel_freeze_queue_total", "Times the TPACKET_V3 queue froze.", func(k *KernelStats) uint64 { return k.FreezeQueue }),

	bpfCounter("bpf_seen_total", "Packets the kernel BPF program saw.", func(c *bpf.Counters) uint64 { return c.Seen }),
	bpfCounter("bpf_passed_total", "Packets it passed whole.", func(c *bpf.Counters) uint64 { return c.Passed }),
	bpfCounter("bpf_filtered_total", "Packets it rejected by the filter expression.", func(c *bpf.Counters) uint64 { return c.Filtered }),
	bpfCounter("bpf_bypassed_total", "Packets of bypassed flows (cut to their headers).", func(c *bpf.Counters) uint64 { return c.Bypassed }),
	bpfCounter("bpf_non_tcp_total", "Non-TCP packets it saw.", func(c *bpf.Counters) uint64 { return c.NonTCP }),
	bpfCounter("bpf_bypass_dropped_total", "Packets of flows bypassed in drop mode (TLS) it only counted.", func(c *bpf.Counters) uint64 { return c.Dropped }),
}, append(natsPlain, sslPlain...)...)

// Names returns the names of the metrics a Collector can report, sorted
// (without the Go runtime and process metrics a Server adds).
func Names() []string {
	var out []string
	for _, m := range plain {
		out = append(out, m.name)
	}
	out = append(out, name("decode_packets_total"), name("decode_malformed_total"), name("connections_closed_total"), name("worker_segments_total"))
	sort.Strings(out)
	return out
}

// Server serves a Collector (and the Go runtime and process collectors)
// on /metrics.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	err  chan error
	once sync.Once
	cerr error
}

// Listen binds exactly addr (host:port; port 0 picks a free port) and
// serves http://addr/metrics from a goroutine until Close.
func Listen(addr string, c *Collector) (*Server, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	s := &Server{
		ln:  ln,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address the Server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the Server (scrapes in progress are cut). Later calls
// return the same error.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cerr = s.srv.Close()
		if e := <-s.err; s.cerr == nil && !errors.Is(e, http.ErrServerClosed) {
			s.cerr = e
		}
	})
	return s.cerr
}
