package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
)

// scrapeMetrics fetches http://addr/metrics as "name{labels}" -> value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
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

// TestMetricsMatchSummary runs a capture with --metrics on 127.0.0.1:0,
// scrapes /metrics once the run is over (the metrics hook) and checks the
// counters against the run's summary on stderr and the HTTP log.
func TestMetricsMatchSummary(t *testing.T) {
	pcap := filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap")
	if _, err := os.Stat(pcap); err != nil {
		t.Fatal(err) // bundled with the repository
	}
	var m map[string]float64
	var addr string
	ctx := withMetricsHook(context.Background(), func(a string) {
		addr = a
		m = scrapeMetrics(t, a)
	})
	logPath := filepath.Join(t.TempDir(), "http.log")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-r", pcap, "--workers", "2", "--metrics", "127.0.0.1:0", "--http-log", logPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if m == nil {
		t.Fatal("the metrics hook was not called")
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || !strings.Contains(stderr.String(), "metrics on http://"+addr+"/metrics") {
		t.Errorf("address %q, stderr %q", addr, stderr.String())
	}
	// packets 123 (4567 bytes), tcp segments 120, filtered 0, ...
	sum := regexp.MustCompile(`packets (\d+) \((\d+) bytes\), tcp segments (\d+), filtered (\d+)`).FindStringSubmatch(stderr.String())
	conns := regexp.MustCompile(`connections (\d+) \(midstream (\d+)\)`).FindStringSubmatch(stderr.String())
	if sum == nil || conns == nil {
		t.Fatalf("no summary in %q", stderr.String())
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := float64(strings.Count(string(log), "\n"))
	for k, want := range map[string]float64{
		"fastsniff_packets_total":               num(sum[1]),
		"fastsniff_bytes_total":                 num(sum[2]),
		"fastsniff_tcp_segments_total":          num(sum[3]),
		"fastsniff_filtered_packets_total":      num(sum[4]),
		"fastsniff_connections_opened_total":    num(conns[1]),
		"fastsniff_connections_midstream_total": num(conns[2]),
		"fastsniff_connections_active":          0,
		"fastsniff_http_transactions_total":     lines,
		"fastsniff_http_logged_total":           lines,
		"fastsniff_http_requests_total":         11,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if lines != 11 {
		t.Errorf("%v lines in the HTTP log", lines)
	}
	var segs, closed float64
	for k, v := range m {
		if strings.HasPrefix(k, "fastsniff_worker_segments_total{") {
			segs += v
		}
		if strings.HasPrefix(k, "fastsniff_connections_closed_total{") {
			closed += v
		}
	}
	if segs != num(sum[3]) || closed != num(conns[1]) || m[`fastsniff_worker_segments_total{worker="1"}`] == 0 {
		t.Errorf("worker segments %v, closed %v; summary %v %v", segs, closed, sum, conns)
	}
	if m[`fastsniff_decode_packets_total{result="tcp"}`] != num(sum[3]) {
		t.Errorf("decoded tcp %v", m[`fastsniff_decode_packets_total{result="tcp"}`])
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server outlives the run")
	}
}

// TestMetricsDuringRun scrapes while a capture is being read: the engine
// source reads the Run's Status (offline.Config.Started), which the reader
// publishes before each Progress call, so a scrape from Progress sees
// exactly the packets read so far.
func TestMetricsDuringRun(t *testing.T) {
	pcap := filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap")
	if _, err := os.Stat(pcap); err != nil {
		t.Fatal(err) // bundled with the repository
	}
	ms, err := startMetrics(context.Background(), &metricsOptions{addr: "127.0.0.1:0"}, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.close()
	addr := ms.srv.Addr().String()
	var scraped, checked int
	cfg := offline.Config{
		Workers:   2,
		BatchSize: 16,
		Handler:   func(int) reassembly.Handler { return reassembly.Funcs{} },
		Started:   ms.offlineStarted(),
		Progress: func(packets, bytes uint64) {
			scraped++
			if scraped%3 != 1 {
				return
			}
			m := scrapeMetrics(t, addr)
			if m["fastsniff_packets_total"] != float64(packets) || m["fastsniff_bytes_total"] != float64(bytes) {
				t.Errorf("mid-run: packets %v bytes %v, Progress says %d %d", m["fastsniff_packets_total"], m["fastsniff_bytes_total"], packets, bytes)
			}
			checked++
		},
	}
	sum, err := offline.Run(context.Background(), cfg, pcap)
	if err != nil {
		t.Fatal(err)
	}
	ms.offlineDone(sum)
	m := scrapeMetrics(t, addr)
	if checked < 3 || m["fastsniff_packets_total"] != float64(sum.Packets) || m["fastsniff_connections_opened_total"] != float64(sum.Reassembly.Opened) {
		t.Errorf("%d mid-run scrapes; after the run packets %v opened %v, summary %d %d", checked, m["fastsniff_packets_total"], m["fastsniff_connections_opened_total"], sum.Packets, sum.Reassembly.Opened)
	}
}
