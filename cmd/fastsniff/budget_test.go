package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
)

// TestMaxMemoryBoundsRSS is issue #10's budget test: 4 workers, 4M SYNs
// from distinct sources, --max-memory 256m. The process's peak RSS stays
// within the budget plus the documented fixed overhead (memoryOverhead),
// and exactly what does not fit is evicted, half-open and oldest first:
// each worker holds its share of half-open connections (an eighth of 64
// MiB, counted at 96 bytes each) and evicts the rest.
func TestMaxMemoryBoundsRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 4M-packet capture")
	}
	const (
		packets = 4 << 20
		budget  = 256 << 20
		workers = 4
	)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "syn.pcap")
	if err := (flowgen.Flood{Kind: flowgen.FloodSYN, Seed: 1, Packets: packets}).WritePcapFile(pcap); err != nil {
		t.Fatal(err)
	}
	bin := liveBuild(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-r", pcap, "--workers", strconv.Itoa(workers), "--max-memory", "256m")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fastsniff: %v\n%s", err, stderr.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	t.Logf("peak RSS %d MiB (budget %d MiB + overhead %d MiB)\n%s", rss>>20, budget>>20, memoryOverhead>>20, stderr.String())
	if rss > budget+memoryOverhead {
		t.Errorf("peak RSS %d MiB past the budget %d MiB + overhead %d MiB", rss>>20, budget>>20, memoryOverhead>>20)
	}
	perWorker := budget / workers / 8 / 96 // reassembly.embryoBytes
	want := fmt.Sprintf("evicted %d under the memory budget: %d half-open, 0 with buffered bytes (delivered first), 0 idle", packets-workers*perWorker, packets-workers*perWorker)
	if !bytes.Contains(stderr.Bytes(), []byte(want)) {
		t.Errorf("summary lacks %q", want)
	}
	warn := regexp.MustCompile(`fastsniff: warning: memory budget \(--max-memory 256 MiB\) reached: \d+ connections evicted so far`)
	if n := len(warn.FindAll(stderr.Bytes(), -1)); n != 1 {
		t.Errorf("%d eviction warnings, want 1 (then at most once a minute)", n)
	}
	if !bytes.Contains(stderr.Bytes(), []byte(fmt.Sprintf("connections %d (midstream 0): evicted %d, flush %d", packets, packets-workers*perWorker, workers*perWorker))) {
		t.Errorf("summary's connection line is not as expected")
	}
}
