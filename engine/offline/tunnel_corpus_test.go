package offline_test

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
)

const tunnelDir = "../../testdata/tunnels"

// tunnelStreams reads ref/F/streams.tsv of a tunnelled capture.
func tunnelStreams(t *testing.T, name string) []tsStream {
	t.Helper()
	f, err := os.Open(filepath.Join(tunnelDir, "ref", name, "streams.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cols []string
	var out []tsStream
	for sc.Scan() {
		v := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = v
			continue
		}
		r := map[string]string{}
		for i, c := range cols {
			if i < len(v) {
				r[c] = v[i]
			}
		}
		s := tsStream{file: name, clientBy: r["client_by"]}
		s.stream, _ = strconv.Atoi(r["stream"])
		s.client, err = netip.ParseAddrPort(r["client"])
		if err != nil {
			t.Fatal(err)
		}
		s.server, err = netip.ParseAddrPort(r["server"])
		if err != nil {
			t.Fatal(err)
		}
		for d, p := range tdirName {
			s.bytes[d] = atoi(t, r[p+"_bytes"])
			s.gaps[d] = int(atoi(t, r[p+"_gaps"]))
			s.sha[d] = r[p+"_sha256"]
		}
		out = append(out, s)
	}
	return out
}

// tunnelStreamDiffs are the tshark streams of the tunnelled captures whose
// bytes differ from ours, by capture and stream, with the reason
// (docs/CORPUS.md, "Tunnels").
var tunnelStreamDiffs = map[string]map[int]string{
	"zk-gre-aruba-amsdu.pcap": {0: "802.11 inside Aruba GRE is not decoded"},
}

// tunnelExtraConns counts our connections no tshark stream matches, by
// capture: after a connection closed on both FINs, the server's
// retransmitted FINs open a midstream connection with no data, where
// tshark keeps them in the old stream.
var tunnelExtraConns = map[string]int{
	"sv-erspan2-two-spans.pcap": 1,
}

// TestTunnelCorpusStreams reassembles every tunnelled capture (1 and 2
// workers) and compares each direction of every tshark stream without
// holes byte for byte (sha256 of the followed stream); streams with holes
// must deliver at least their captured bytes' count minus what tshark
// reports missing. Every connection must match a tshark stream.
func TestTunnelCorpusStreams(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(tunnelDir, "pcaps", "*.pcap"))
	if len(files) != 22 {
		t.Fatalf("%d captures", len(files))
	}
	clean, holed := 0, 0
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			ts := tunnelStreams(t, name)
			conns, sum := runCapture(t, path, 1)
			conns2, _ := runCaptureCfg(t, path, offline.Config{Workers: 2, Decode: decode.Config{}})
			if len(conns2) != len(conns) {
				t.Errorf("2 workers: %d connections, 1 worker %d", len(conns2), len(conns))
			} else {
				for i := range conns {
					if a, b := conns[i].fingerprint(), conns2[i].fingerprint(); a != b {
						t.Errorf("workers differ:\n1: %s\n2: %s", a, b)
					}
				}
			}
			if sum.Decode.Malformed != 0 {
				t.Errorf("malformed packets: %v", sum.Decode.Reasons)
			}
			pair, extra := match(ts, conns)
			for _, i := range extra {
				c := conns[i]
				if len(extra) == tunnelExtraConns[name] && c.midstream && c.dir[0].n+c.dir[1].n == 0 {
					continue
				}
				t.Errorf("connection %s not in tshark's streams", c.fingerprint())
			}
			for i, s := range ts {
				why, known := tunnelStreamDiffs[name][s.stream]
				if pair[i] < 0 {
					if !known {
						t.Errorf("stream %d %s > %s: no connection", s.stream, s.client, s.server)
					}
					continue
				}
				c := conns[pair[i]]
				for td := range 2 {
					d := ourDir(s, c, td)
					got := c.dir[d]
					same := c.sha[d] == s.sha[td]
					switch {
					case known:
						t.Logf("stream %d %s: known difference (%s): ours %d bytes, tshark %d", s.stream, tdirName[td], why, got.n, s.bytes[td])
					case s.gaps[td] == 0 && !same:
						t.Errorf("stream %d %s: %d bytes %s, tshark %d bytes %s", s.stream, tdirName[td], got.n, c.sha[d][:12], s.bytes[td], s.sha[td][:12])
					case s.gaps[td] == 0:
						clean++
					default:
						// Holes: the same bytes around them, and as many
						// missing in all (tshark reports one hole where the
						// ACK-gated delivery may report a few).
						miss := tunnelMissing(t, name, s.stream, tdirName[td])
						if !same || gapSum(got.gaps) != miss {
							t.Errorf("stream %d %s: %d bytes %s with %d missing, tshark %d bytes %s with %d missing", s.stream, tdirName[td],
								got.n, c.sha[d][:12], gapSum(got.gaps), s.bytes[td], s.sha[td][:12], miss)
						}
						holed++
					}
				}
			}
		})
	}
	t.Logf("%d stream directions byte-identical, %d more with the same bytes and holes", clean, holed)
	if clean != 87 || holed != 5 {
		t.Errorf("%d clean and %d holed directions matched, want 87 and 5", clean, holed)
	}
}

// tunnelMissing sums tshark's holes in one direction of a stream.
func tunnelMissing(t *testing.T, name string, stream int, dir string) uint64 {
	b, err := os.ReadFile(filepath.Join(tunnelDir, "ref", name, "stream"+strconv.Itoa(stream)+".gaps.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Split(l, "\t"); len(f) == 3 && f[0] == dir {
			n += atoi(t, f[2])
		}
	}
	return n
}

// TestTunnelKeyCorpus: with the tunnel in the flow key, the segments of
// zk-gre-direct-bypass inside GRE and outside it are two connections of 10
// one-byte segments with 9 one-byte holes each (tshark, which ignores the tunnel, has one
// 20-byte stream), and in sv-vxlan-ssh, one VNI both ways, nothing
// changes.
func TestTunnelKeyCorpus(t *testing.T) {
	key := offline.Config{Workers: 1, Decode: decode.Config{TunnelKey: true}}
	conns, _ := runCaptureCfg(t, filepath.Join(tunnelDir, "pcaps", "zk-gre-direct-bypass.pcap"), key)
	if len(conns) != 2 {
		t.Fatalf("%d connections, want 2", len(conns))
	}
	for _, c := range conns {
		// one byte every other offset: 10 delivered, 9 one-byte holes
		if c.stats[0].Packets != 10 || c.dir[0].n != 10 || len(c.dir[0].gaps) != 9 || gapSum(c.dir[0].gaps) != 9 || c.dir[1].n != 0 {
			t.Errorf("connection %s", c.fingerprint())
		}
	}
	plain, _ := runCapture(t, filepath.Join(tunnelDir, "pcaps", "sv-vxlan-ssh.pcap"), 1)
	keyed, _ := runCaptureCfg(t, filepath.Join(tunnelDir, "pcaps", "sv-vxlan-ssh.pcap"), key)
	if len(plain) != 4 || len(keyed) != 4 {
		t.Fatalf("%d and %d connections, want 4", len(plain), len(keyed))
	}
	for i := range plain {
		if plain[i].sha != keyed[i].sha || plain[i].id == keyed[i].id {
			t.Errorf("keyed by VNI: %s\nplain: %s", keyed[i].fingerprint(), plain[i].fingerprint())
		}
	}
}
