package offline_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestCorpusDump prints, for every capture, how our connections compare
// with tshark's streams. It only runs with FASTSNIFF_CORPUS_DUMP=1 (or a
// comma-separated list of capture names) and never fails: it is the tool
// for writing and reviewing the golden table in corpus_test.go.
func TestCorpusDump(t *testing.T) {
	sel := os.Getenv("FASTSNIFF_CORPUS_DUMP")
	if sel == "" {
		t.Skip("set FASTSNIFF_CORPUS_DUMP=1 (or =capture,capture) to print the comparison")
	}
	ts := tsharkStreams(t)
	names, paths := corpusFiles(t)
	for _, name := range names {
		if sel != "1" && !strings.Contains(","+sel+",", ","+name+",") {
			continue
		}
		conns, sum := runCapture(t, paths[name], 1)
		fmt.Printf("=== %s: %d connections, %d tshark streams; decode tcp %d frag %d malformed %d snapcut %d/%d tcphdrcut %d\n", name, len(conns), len(ts[name]),
			sum.Decode.TCP, sum.Decode.Fragment, sum.Decode.Malformed, sum.Decode.SnapCutPackets, sum.Decode.SnapCutBytes, sum.Decode.TCPHeaderCut)
		pair, extra := match(ts[name], conns)
		for i, s := range ts[name] {
			if pair[i] < 0 {
				fmt.Printf("  stream %d %s>%s (%s): NO CONNECTION\n", i, s.client, s.server, s.clientBy)
				continue
			}
			c := conns[pair[i]]
			flip := ""
			if c.client != s.client {
				flip = " ROLES FLIPPED"
			}
			quiet := flip == "" && !c.midstream && c.reason.String() == "fin"
			for td := 0; td < 2; td++ {
				d := ourDir(s, c, td)
				if c.sha[d] != s.sha[td] || len(c.dir[d].gaps) > 0 || c.dir[d].unacked > 0 || s.gaps[td] > 0 {
					quiet = false
				}
			}
			if quiet {
				continue
			}
			fmt.Printf("  stream %d %s>%s (%s) -> conn %d mid=%v reason=%s hist=%s%s\n", i, s.client, s.server, s.clientBy, pair[i], c.midstream, c.reason, c.history, flip)
			for td := 0; td < 2; td++ {
				d := ourDir(s, c, td)
				o := &c.dir[d]
				st := "SAME"
				if c.sha[d] != s.sha[td] {
					st = "DIFF"
				}
				fmt.Printf("    %s %s ts=%d/%d gaps ours=%d:%v unacked=%d@%d ackedAfter=%v ackedSha=%s sha=%s pk=%d by=%d\n",
					tdirName[td], st, o.n, s.bytes[td], s.gaps[td], o.gaps, o.unacked, o.firstUnacked, o.ackedAfterUnacked, c.sha1Acked[d], c.sha[d], c.stats[d].Packets, c.stats[d].Bytes)
			}
		}
		for _, i := range extra {
			c := conns[i]
			fmt.Printf("  EXTRA conn %d %s>%s mid=%v reason=%s hist=%s c2s=%d s2c=%d\n", i, c.client, c.server, c.midstream, c.reason, c.history, c.dir[0].n, c.dir[1].n)
		}
	}
}
