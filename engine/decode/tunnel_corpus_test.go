package decode_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// tunnelKnownMissing are tshark's TCP rows the decoder does not produce,
// by capture: frame numbers (docs/CORPUS.md says why).
var tunnelKnownMissing = map[string][]int{
	// Aruba GRE (0x8240) carrying raw 802.11 A-MSDU frames: not decoded.
	"zk-gre-aruba-amsdu.pcap": {1},
}

// TestTunnelCorpus decodes every tunnelled capture and compares each TCP
// segment found with tshark's row for the same frame (ref/F.tcp.tsv):
// innermost addresses, ports, raw sequence number, payload length, flags,
// VLAN ids and tunnel identifiers (the bottom MPLS label, PPPoE session,
// GRE key, ERSPAN span id, VXLAN/GENEVE VNI, GTP TEID).
func TestTunnelCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/tunnels/pcaps/*.pcap")
	if len(files) != 22 {
		t.Fatalf("%d captures, want 22", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want := readTCPRows(t, "../../testdata/tunnels/ref/"+name+".tcp.tsv")
			got := decodeRows(t, path)
			missing := tunnelKnownMissing[name]
			n := 0
			for frame, w := range want {
				g, ok := got[frame]
				if !ok {
					if !slices.Contains(missing, frame) {
						t.Errorf("frame %d: tshark has %s, decoder nothing", frame, w)
					}
					continue
				}
				if g != w {
					t.Errorf("frame %d:\n tshark  %s\n decoder %s", frame, w, g)
				}
				n++
			}
			for frame, g := range got {
				if _, ok := want[frame]; !ok {
					t.Errorf("frame %d: decoder has %s, tshark nothing", frame, g)
				}
			}
			if n+len(missing) != len(want) || (n == 0 && len(missing) == 0) {
				t.Errorf("%d of %d rows matched", n, len(want))
			}
		})
	}
}

// readTCPRows reads the first TCP segment of every frame in a tcp.tsv,
// as a comparable line.
func readTCPRows(t *testing.T, path string) map[int]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	out := map[int]string{}
	var cols []string
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
		if r["seg_in_frame"] != "1" {
			continue
		}
		frame, _ := strconv.Atoi(r["frame"])
		flags, _ := strconv.ParseUint(strings.TrimPrefix(r["tcp_flags"], "0x"), 16, 16)
		mpls := r["mpls_labels"]
		if i := strings.LastIndexByte(mpls, ','); i >= 0 {
			mpls = mpls[i+1:] // the decoder keeps the bottom label
		}
		out[frame] = fmt.Sprintf("%s:%s > %s:%s seq %s len %s flags %#x vlans [%s] mpls %s pppoe %s gre %s erspan %s vxlan %s geneve %s gtp %s",
			r["src"], r["sport"], r["dst"], r["dport"], r["seq_raw"], r["tcp_len"], flags, r["vlan_ids"],
			mpls, hexNorm(r["pppoe_session"]), hexNorm(r["gre_key"]), r["erspan_spanid"], r["vxlan_vni"], hexNorm(r["geneve_vni"]), hexNorm(r["gtp_teid"]))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hexNorm turns tshark's hex ids into decimal ("" stays "").
func hexNorm(s string) string {
	if s == "" {
		return ""
	}
	var parts []string
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimPrefix(p, "0x"), 16, 32)
		if err != nil {
			return "bad:" + s
		}
		parts = append(parts, strconv.FormatUint(v, 10))
	}
	return strings.Join(parts, ",")
}

// decodeRows decodes a capture and renders each TCP segment like readTCPRows.
func decodeRows(t *testing.T, path string) map[int]string {
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	d := decode.New(decode.Config{})
	out := map[int]string{}
	batch := make([]pcapfile.Packet, 64)
	frame := 0
	for {
		n, err := r.ReadBatch(batch)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range batch[:n] {
			frame++
			var seg reassembly.Segment
			if res, _ := d.Decode(p.Link, p.Data, p.OrigLen, p.TS, &seg); res != decode.ResultTCP {
				continue
			}
			ids := map[decode.TunnelKind][]string{}
			for _, l := range d.Tunnel().Slice() {
				if l.HasID {
					ids[l.Kind] = append(ids[l.Kind], strconv.FormatUint(uint64(l.ID), 10))
				}
			}
			j := func(k decode.TunnelKind) string { return strings.Join(ids[k], ",") }
			var vl []string
			for _, v := range seg.VLANs.Slice() {
				vl = append(vl, strconv.Itoa(int(v)))
			}
			addr := func(a [16]byte) string { return netip.AddrFrom16(a).Unmap().String() }
			out[frame] = fmt.Sprintf("%s:%d > %s:%d seq %d len %d flags %#x vlans [%s] mpls %s pppoe %s gre %s erspan %s vxlan %s geneve %s gtp %s",
				addr(seg.Src), seg.SrcPort, addr(seg.Dst), seg.DstPort, uint32(seg.Seq), len(seg.Payload)+seg.Truncated, uint16(seg.Flags),
				strings.Join(vl, ","), j(decode.TunnelMPLS), j(decode.TunnelPPPoE), j(decode.TunnelGRE),
				j(decode.TunnelERSPAN2)+j(decode.TunnelERSPAN3), j(decode.TunnelVXLAN), j(decode.TunnelGENEVE), j(decode.TunnelGTPU))
		}
	}
	return out
}
