package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// TestSYNFloodLeavesLegitimateConnections is issue #10's case (d) on a
// small scale: 50k SYNs from distinct sources, spread over the time span
// of a bundled real capture (Zeek's 500 echo connections) and merged into
// it in time order. Every legitimate connection's conn-log record (digests,
// byte and packet counts, state, history, close reason; the uid aside,
// which numbers connections in order of appearance) must be what it is
// without the flood, with one worker and with two; every flood packet must
// be its own connection.
func TestSYNFloodLeavesLegitimateConnections(t *testing.T) {
	const floodN = 50_000
	dir := t.TempDir()
	real := filepath.Join(seedPcapDir, "zk-echo-500-conns.pcap.gz")
	pkts, first, last := readPcap(t, real)
	flood := flowgen.Flood{Kind: flowgen.FloodSYN, Seed: 1, Packets: floodN, Start: first, Span: time.Duration(last - first)}
	mixed := filepath.Join(dir, "mixed.pcap")
	writeMerged(t, mixed, pkts, flood)

	base := connLog(t, real, 1)
	if len(base) != 500 {
		t.Fatalf("%d connections without the flood, want 500", len(base))
	}
	want := map[string]connlog.Record{}
	for _, r := range base {
		if isFloodRecord(r) {
			t.Fatalf("a legitimate connection looks like the flood: %+v", r)
		}
		want[recordKey(r)] = withoutUID(r)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers%d", workers), func(t *testing.T) {
			recs := connLog(t, mixed, workers)
			floods, legit := 0, 0
			for _, r := range recs {
				if isFloodRecord(r) {
					floods++
					if r.OrigPkts != 1 || r.RespPkts != 0 || r.History != "S" || r.OrigBytes != 0 {
						t.Fatalf("flood connection %+v", r)
					}
					continue
				}
				legit++
				k := recordKey(r)
				w, ok := want[k]
				if !ok {
					t.Errorf("new connection with the flood: %+v", r)
					continue
				}
				if got := withoutUID(r); !reflect.DeepEqual(got, w) {
					t.Errorf("connection %s with the flood:\n got %+v\nwant %+v", k, got, w)
				}
			}
			if floods != floodN || legit != len(want) {
				t.Fatalf("%d flood and %d legitimate connections, want %d and %d", floods, legit, floodN, len(want))
			}
		})
	}
}

// isFloodRecord: from flowgen.Flood's SYN sources to its servers.
func isFloodRecord(r connlog.Record) bool {
	src, err := netip.ParseAddr(r.OrigH)
	if err != nil {
		return false
	}
	return netip.MustParsePrefix("100.64.0.0/10").Contains(src) && (r.RespH == "203.0.113.10" || r.RespH == "203.0.113.11")
}

func recordKey(r connlog.Record) string {
	return fmt.Sprintf("%.6f %s:%d-%s:%d %v", r.TS, r.OrigH, r.OrigP, r.RespH, r.RespP, r.VLAN)
}

func withoutUID(r connlog.Record) connlog.Record {
	r.UID = ""
	return r
}

func connLog(t *testing.T, pcap string, workers int) []connlog.Record {
	t.Helper()
	out := filepath.Join(t.TempDir(), "conn.json")
	var stderr bytes.Buffer
	args := []string{"-r", pcap, "--workers", fmt.Sprint(workers), "-q", "--conn-log", out, "--digest"}
	if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("fastsniff %q: exit %d: %s", args, code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := connlog.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

type rawPacket struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// readPcap returns an Ethernet capture's packets and its first and last
// timestamps (Unix ns).
func readPcap(t *testing.T, path string) (pkts []rawPacket, first, last int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %v", path, r.LinkType())
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkts = append(pkts, rawPacket{ci, data})
	}
	if len(pkts) < 1000 {
		t.Fatalf("%s: %d packets", path, len(pkts))
	}
	first, last = pkts[0].ci.Timestamp.UnixNano(), pkts[0].ci.Timestamp.UnixNano()
	for _, p := range pkts {
		first = min(first, p.ci.Timestamp.UnixNano())
		last = max(last, p.ci.Timestamp.UnixNano())
	}
	return pkts, first, last
}

// writeMerged writes pkts and the flood merged by time (a real packet
// first on a tie), as mergecap would.
func writeMerged(t *testing.T, path string, pkts []rawPacket, fl flowgen.Flood) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(flowgen.Snaplen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var frame []byte
	i := 0
	for j := 0; j < fl.Len(); j++ {
		p := fl.Packet(j)
		for ; i < len(pkts) && pkts[i].ci.Timestamp.UnixNano() <= p.TS; i++ {
			if err := w.WritePacket(pkts[i].ci, pkts[i].data); err != nil {
				t.Fatal(err)
			}
		}
		frame = p.AppendFrame(frame[:0])
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			t.Fatal(err)
		}
	}
	for ; i < len(pkts); i++ {
		if err := w.WritePacket(pkts[i].ci, pkts[i].data); err != nil {
			t.Fatal(err)
		}
	}
}
