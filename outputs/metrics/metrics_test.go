package metrics

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/outputs/httplog"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Scrape fetches http://addr/metrics and returns every sample as
// "name{labels}" -> value.
func Scrape(t testing.TB, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", l)
		}
		out[l[:i]] = v
	}
	return out
}

func TestServer(t *testing.T) {
	col := NewCollector()
	var rs reassembly.Stats
	rs.Opened, rs.Midstream, rs.Active, rs.Gaps, rs.MissedBytes = 10, 2, 3, 4, 500
	rs.Closed[reassembly.ReasonFIN], rs.Closed[reassembly.ReasonRST] = 6, 1
	rs.HalfOpen, rs.EvictedHalfOpen, rs.EvictedBuffered, rs.Closed[reassembly.ReasonEvicted] = 2, 7, 1, 9
	var ds decode.Stats
	ds.TCP, ds.NotTCP, ds.Malformed = 90, 5, 2
	ds.Reasons[decode.ReasonTCPShort] = 2
	col.Set("engine", func(s *Snapshot) {
		s.Packets, s.Bytes, s.Filtered, s.Segments = 100, 12345, 3, 90
		s.Decode, s.Reassembly = ds, rs
		s.PerWorker = []uint64{40, 50}
	})
	col.Set("bpf", func(s *Snapshot) { s.Filter = &bpf.Counters{Seen: 7, Bypassed: 1, Dropped: 3} })
	srv, err := Listen("127.0.0.1:0", col)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addr().String()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("listening on %s", addr)
	}
	m := Scrape(t, addr)
	for k, want := range map[string]float64{
		"fastsniff_packets_total":                              100,
		"fastsniff_bytes_total":                                12345,
		"fastsniff_filtered_packets_total":                     3,
		"fastsniff_tcp_segments_total":                         90,
		"fastsniff_connections_opened_total":                   10,
		"fastsniff_connections_midstream_total":                2,
		"fastsniff_connections_active":                         3,
		"fastsniff_connections_half_open":                      2,
		"fastsniff_connections_evicted_half_open_total":        7,
		"fastsniff_connections_evicted_buffered_total":         1,
		`fastsniff_connections_closed_total{reason="evicted"}`: 9,
		"fastsniff_reassembly_gaps_total":                      4,
		"fastsniff_reassembly_missed_bytes_total":              500,
		`fastsniff_connections_closed_total{reason="fin"}`:     6,
		`fastsniff_connections_closed_total{reason="rst"}`:     1,
		`fastsniff_connections_closed_total{reason="timeout"}`: 0,
		`fastsniff_decode_packets_total{result="tcp"}`:         90,
		`fastsniff_decode_packets_total{result="malformed"}`:   2,
		`fastsniff_decode_malformed_total{reason="tcp-short"}`: 2,
		`fastsniff_worker_segments_total{worker="0"}`:          40,
		`fastsniff_worker_segments_total{worker="1"}`:          50,
		"fastsniff_bpf_seen_total":                             7,
		"fastsniff_bpf_bypassed_total":                         1,
		"fastsniff_bpf_bypass_dropped_total":                   3,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	for k := range m {
		if strings.HasPrefix(k, "fastsniff_http_") || strings.HasPrefix(k, "fastsniff_kernel_") {
			t.Errorf("%s reported without its source", k)
		}
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	// sources can be added, replaced and removed while serving
	col.Set("http", func(s *Snapshot) {
		s.HTTP = &httplog.Stats{Logged: 5}
		s.HTTP.HTTP.Transactions = 5
	})
	col.Set("kernel", func(s *Snapshot) { s.Kernel = &KernelStats{Packets: 200, Drops: 9} })
	col.Set("bpf", nil)
	col.Set("engine", func(s *Snapshot) { s.Packets = 101 })
	m = Scrape(t, addr)
	for k, want := range map[string]float64{
		"fastsniff_packets_total":           101,
		"fastsniff_http_transactions_total": 5,
		"fastsniff_http_logged_total":       5,
		"fastsniff_kernel_packets_total":    200,
		"fastsniff_kernel_drops_total":      9,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if _, ok := m["fastsniff_bpf_seen_total"]; ok {
		t.Error("bpf metrics after the source was removed")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("still serving after Close")
	}
}

func TestListenError(t *testing.T) {
	if _, err := Listen("256.0.0.1:0", NewCollector()); err == nil {
		t.Error("no error for a bad address")
	}
}

// TestDocumented: METRICS.md lists every metric.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names() {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("%s is not in METRICS.md", n)
		}
	}
}
