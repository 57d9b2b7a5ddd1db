package flowgen_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
)

const tshark = "/usr/bin/tshark"

// TestTshark cross-checks a clean capture with Wireshark's reassembly:
// `tshark -z follow,tcp,raw,N` must give the truth's bytes.
func TestTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs tshark")
	}
	if _, err := os.Stat(tshark); err != nil {
		t.Skipf("tshark not installed (%v): cross-check skipped", err)
	}
	c := generate(t, flowgen.Config{Seed: 9, Conns: 12, MaxBytes: 40_000, IPv6Share: 0.3, VLANShare: 0.3, WrapISN: 0.3})
	f := filepath.Join(t.TempDir(), "clean.pcap")
	if err := os.WriteFile(f, pcapBytes(t, c), 0o644); err != nil {
		t.Fatal(err)
	}
	// The tuples are all different, so tshark's stream index is the
	// connection's rank by first packet: the order of Conns.
	args := []string{"-r", f, "-q"}
	for i := range c.Conns {
		args = append(args, "-z", fmt.Sprintf("follow,tcp,raw,%d", i))
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	got, err := parseFollow(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(c.Conns) {
		t.Fatalf("tshark followed %d streams, want %d", len(got), len(c.Conns))
	}
	for i := range c.Conns {
		cn := &c.Conns[i]
		g := got[i]
		if g.stream != i {
			t.Fatalf("tshark streams %v", got)
		}
		if g.node0 != cn.Client.String() {
			t.Fatalf("stream %d: node 0 is %s, want client %s", i, g.node0, cn.Client)
		}
		for d := range 2 {
			if !bytes.Equal(g.data[d], cn.Streams[d].Data) {
				t.Errorf("stream %d dir %d: tshark %d bytes, truth %d (first difference at %d)", i, d, len(g.data[d]), len(cn.Streams[d].Data), firstDiff(g.data[d], cn.Streams[d].Data))
			}
		}
	}
}

type followed struct {
	stream int
	node0  string
	data   [2][]byte
}

// parseFollow reads tshark's "follow,tcp,raw" blocks: lines of hex, those
// from node 1 indented with a tab.
func parseFollow(out []byte) ([]followed, error) {
	var res []followed
	var cur *followed
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "====="):
			cur = nil
		case strings.HasPrefix(line, "Follow:"):
			res = append(res, followed{})
			cur = &res[len(res)-1]
		case cur == nil, strings.HasPrefix(line, "Node 1:"):
		case strings.HasPrefix(line, "Filter:"):
			if _, err := fmt.Sscanf(line, "Filter: tcp.stream eq %d", &cur.stream); err != nil {
				return nil, fmt.Errorf("tshark output %q: %v", line, err)
			}
		case strings.HasPrefix(line, "Node 0:"):
			cur.node0 = strings.TrimSpace(strings.TrimPrefix(line, "Node 0:"))
		default:
			d := 0
			if strings.HasPrefix(line, "\t") {
				d = 1
			}
			b, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				return nil, fmt.Errorf("tshark output %q: %v", line, err)
			}
			cur.data[d] = append(cur.data[d], b...)
		}
	}
	slices.SortFunc(res, func(a, b followed) int { return a.stream - b.stream })
	return res, sc.Err()
}
