package live

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// offlineFiltered is offlineRecs with a tcpdump filter applied the way the
// -r pipeline applies it (bpf.Matcher).
func offlineFiltered(t testing.TB, file, filter string) []rec {
	t.Helper()
	var rc recorder
	cfg := offline.Config{Workers: 1, Handler: rc.handler}
	if filter != "" {
		cfg.Filter = func() offline.Accept {
			ms := map[decode.LinkType]*bpf.Matcher{}
			return func(link decode.LinkType, frame []byte, origLen int) bool {
				m, ok := ms[link]
				if !ok {
					var err error
					if m, err = bpf.NewMatcher(filter, int(link)); err != nil {
						t.Fatal(err)
					}
					ms[link] = m
				}
				return m.MatchLen(frame, origLen)
			}
		}
	}
	if _, err := offline.Run(context.Background(), cfg, file); err != nil {
		t.Fatal(err)
	}
	return rc.sorted()
}

// TestLiveTunnels replays tunnelled captures (GRE with outer fragments,
// ERSPAN around VXLAN, VXLAN, GENEVE, MPLS, PPPoE over QinQ, IP in IP, GTP-U with outer
// fragments, Teredo), with and without filters that use libpcap's tunnel
// keywords: the live capture (2 workers, inner-flow fanout) finds the
// same connections with the same bytes as -r, each on one worker.
func TestLiveTunnels(t *testing.T) {
	cases := []struct{ file, filter string }{
		{"zk-gre-teb-key.pcap", ""},
		{"ak-erspan2-vxlan.pcap", ""},
		{"sv-vxlan-ssh.pcap", ""},
		{"zk-vxlan-http.pcap", ""},
		{"td-geneve-ssh.pcap", ""},
		{"td-geneve-ssh.pcap", "geneve 11"},
		{"zk-mpls-in-vlan.pcap", "vlan and mpls and tcp port 80"},
		{"zk-pppoe-over-qinq.pcap", ""},
		{"sv-ipv6-in-ipv4.pcap", ""},
		{"zk-gtp-outer-ipfrag.pcap", ""},
		{"zk-teredo.pcap", ""},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.filter, func(t *testing.T) {
			file := filepath.Join("..", "..", "testdata", "tunnels", "pcaps", tc.file)
			want := offlineFiltered(t, file, tc.filter)
			if len(want) == 0 {
				t.Fatal("no connections offline")
			}
			v := newVethNS(t)
			var rc recorder
			sum := liveCapture(t, v, Config{Workers: 2, Filter: tc.filter}, &rc, func() { v.replay(t, file, "--mbps=100") })
			got := rc.sorted()
			diffRecs(t, want, got)
			checkAffinity(t, got, 2)
			checkClean(t, sum)
			t.Logf("%d connections, frames %d, segments %d, bpf %+v", len(got), sum.Packets, sum.Segments, sum.BPF)
		})
	}
}

// TestLiveFanoutInnerFlows replays a generated capture whose many inner
// flows all sit in one ERSPAN session (one outer header pair) through the
// capture namespace with 4 workers: every worker's share of the segments
// is within 20% of an even split (the kernel's own fanout hash would give
// all of them to one worker, as the outer-fanout run shows), and the live
// output equals -r.
func TestLiveFanoutInnerFlows(t *testing.T) {
	cfg := flowgen.Config{Seed: 14, Conns: 400, MaxBytes: 8 << 10, IPv6Share: 0.2, VLANShare: 0.2, Encap: flowgen.EncapERSPAN2, EncapID: 7}
	file := genCapture(t, cfg)
	want := offlineRecs(t, file, reassembly.Config{})
	const workers = 4
	for _, outer := range []bool{false, true} {
		t.Run(fmt.Sprintf("outer=%v", outer), func(t *testing.T) {
			v := newVethNS(t)
			var rc recorder
			sum := liveCapture(t, v, Config{Workers: workers, OuterFanout: outer}, &rc, func() { v.replay(t, file, "--mbps=200") })
			got := rc.sorted()
			diffRecs(t, want, got)
			checkAffinity(t, got, workers)
			checkClean(t, sum)
			var total uint64
			for _, n := range sum.PerWorker {
				total += n
			}
			busy := 0
			for i, n := range sum.PerWorker {
				share := float64(n) / float64(total) * workers
				if n > 0 {
					busy++
				}
				if !outer && (share < 0.8 || share > 1.2) {
					t.Errorf("worker %d: %d of %d segments, %.2f of an even share", i, n, total, share)
				}
			}
			if outer && busy != 1 {
				t.Errorf("outer fanout: %d workers busy, want 1 (one outer flow): %v", busy, sum.PerWorker)
			}
			t.Logf("segments per worker %v (%d connections)", sum.PerWorker, len(got))
		})
	}
}

// TestBypassTunnels: the kernel keys tunnelled packets by their innermost
// flow, so a connection past the reassembly depth is cut to its headers
// inside VXLAN, GRE, ERSPAN, GTP-U, MPLS and IP in IP as it is bare
// (testBypass: same stream lengths as -r, small connections identical).
func TestBypassTunnels(t *testing.T) {
	for _, e := range []flowgen.Encap{flowgen.EncapVXLAN, flowgen.EncapGRE, flowgen.EncapERSPAN2, flowgen.EncapGTPU, flowgen.EncapMPLS, flowgen.EncapIPIP} {
		t.Run(e.String(), func(t *testing.T) {
			file := genCapture(t, flowgen.Config{Seed: 3, Conns: 40, LargeShare: 0.3, LargeMaxBytes: 1 << 20, IPv6Share: 0.3, Encap: e, EncapID: 9})
			testBypass(t, file, reassembly.Config{})
		})
	}
}
