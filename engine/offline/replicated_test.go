package offline_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/flowgen"
)

// runPaths reassembles paths with cfg and returns the sorted connection
// fingerprints, the summary and the warnings.
func runPaths(t *testing.T, cfg offline.Config, paths ...string) ([]string, offline.Summary, []string, error) {
	t.Helper()
	k := &collector{}
	cfg.Handler = k.handler
	var warns []string
	cfg.Warn = func(err error) { warns = append(warns, err.Error()) }
	sum, err := offline.Run(context.Background(), cfg, paths...)
	for _, b := range k.bad {
		t.Errorf("%s", b)
	}
	return fingerprints(k.conns), sum, warns, err
}

// fragmented rewrites a flowgen capture with every 7th untagged IPv4
// segment carrying data split into two IP fragments, the second one three
// packets later, so that fragments of one datagram fall into different
// batches.
func fragmented(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	type held struct {
		ci   gopacket.CaptureInfo
		data []byte
		due  int
	}
	var later []held
	n, frags := 0, 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		for len(later) > 0 && later[0].due <= n {
			ci2 := later[0].ci
			ci2.Timestamp = ci.Timestamp
			w.WritePacket(ci2, later[0].data)
			later = later[1:]
		}
		ip := data[14:]
		if binary.BigEndian.Uint16(data[12:]) != 0x0800 || n%7 != 0 || len(ip) < 20+20+200 {
			w.WritePacket(ci, data)
			continue
		}
		ihl := int(ip[0]&15) * 4
		cut := ihl + 8*((len(ip)-ihl)/16) // an 8-byte multiple inside the payload
		first := append([]byte(nil), data[:14+cut]...)
		binary.BigEndian.PutUint16(first[14+2:], uint16(cut))
		binary.BigEndian.PutUint16(first[14+6:], 0x2000) // MF
		second := append(append([]byte(nil), data[:14+ihl]...), ip[cut:]...)
		binary.BigEndian.PutUint16(second[14+2:], uint16(ihl+len(ip)-cut))
		binary.BigEndian.PutUint16(second[14+6:], uint16((cut-ihl)/8))
		first[14+10], first[14+11], second[14+10], second[14+11] = 0, 0, 0, 0 // checksums are not checked
		ci.CaptureLength, ci.Length = len(first), len(first)
		w.WritePacket(ci, first)
		ci.CaptureLength, ci.Length = len(second), len(second)
		later = append(later, held{ci, second, n + 3})
		frags++
	}
	for _, h := range later {
		w.WritePacket(h.ci, h.data)
	}
	if frags < 100 {
		t.Fatalf("only %d datagrams fragmented", frags)
	}
}

// Replicated reading (every worker reads the capture and keeps its own
// flows) gives exactly what one reader gives: the same connections, bytes
// and counters, across batches, files, IP fragments of flows of every
// worker, a truncated file in the middle and the packet filter.
func TestReplicatedSameAsSingleReader(t *testing.T) {
	tmp := t.TempDir()
	gen, _ := writeGen(t, flowgen.Mixed(21))
	frag := filepath.Join(tmp, "frag.pcap")
	fragmented(t, gen, frag)
	whole, _ := os.ReadFile(gen)
	cut := filepath.Join(tmp, "cut.pcap")
	os.WriteFile(cut, whole[:len(whole)*2/3], 0o644)
	files := []string{frag, cut, "../../testdata/decode/zk-ipv4frag-inconsistent.pcap", gen}
	// the filter keeps state (as the CLI's does): one per reading goroutine
	newFilter := func() offline.Accept {
		seen := 0
		return func(_ decode.LinkType, frame []byte, _ int) bool { seen++; return len(frame)%5 != 0 }
	}
	for _, filter := range []bool{false, true} {
		base := offline.Config{Workers: 2, SingleReader: true}
		if filter {
			base.Filter = newFilter
		}
		want, wsum, wwarn, err := runPaths(t, base, files...)
		if err != nil {
			t.Fatal(err)
		}
		if wsum.Decode.FragReassembled == 0 || len(wwarn) != 1 || !strings.Contains(wwarn[0], "cut.pcap: truncated") {
			t.Fatalf("the test input is not what it should be: %d datagrams reassembled, warnings %v", wsum.Decode.FragReassembled, wwarn)
		}
		for _, workers := range []int{2, 3, 4, 6} { // 6: one reader again
			for _, chunk := range []int{1, 37, 0} { // batch sizes
				cfg := base
				cfg.SingleReader, cfg.Workers, cfg.BatchSize = false, workers, chunk
				got, sum, warns, err := runPaths(t, cfg, files...)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(warns, "\n") != strings.Join(wwarn, "\n") {
					t.Errorf("filter %v workers %d batch %d: warnings %v, want %v", filter, workers, chunk, warns, wwarn)
				}
				if sum.Packets != wsum.Packets || sum.Bytes != wsum.Bytes || sum.Filtered != wsum.Filtered ||
					sum.Segments != wsum.Segments || sum.Decode != wsum.Decode || sum.Warnings != wsum.Warnings {
					t.Errorf("filter %v workers %d batch %d: summary\n %+v\nwant\n %+v", filter, workers, chunk, sum, wsum)
				}
				if len(got) != len(want) {
					t.Fatalf("filter %v workers %d batch %d: %d connections, want %d", filter, workers, chunk, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("filter %v workers %d batch %d: first difference:\n got  %s\n want %s", filter, workers, chunk, got[i], want[i])
					}
				}
			}
		}
	}
}

// A record that cannot be read (a garbage length) stops the run with the
// same error and the same packets before it as with one reader.
func TestReplicatedBadRecord(t *testing.T) {
	gen, _ := writeGen(t, flowgen.Mixed(22))
	b, _ := os.ReadFile(gen)
	// the length field of a record about 300 KiB in
	off := 24
	for off < 300<<10 {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	binary.LittleEndian.PutUint32(b[off+8:], 0x7fffffff)
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	os.WriteFile(bad, b, 0o644)
	want, wsum, _, werr := runPaths(t, offline.Config{Workers: 2, SingleReader: true}, bad, gen)
	got, sum, _, err := runPaths(t, offline.Config{Workers: 3}, bad, gen)
	var fe *pcapfile.FileError
	if werr == nil || err == nil || werr.Error() != err.Error() || !errors.As(err, &fe) {
		t.Fatalf("errors %v and %v", werr, err)
	}
	if sum.Packets != wsum.Packets || len(got) != len(want) {
		t.Fatalf("%d packets, %d connections; one reader %d, %d", sum.Packets, len(got), wsum.Packets, len(want))
	}
	sort.Strings(got)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("first difference:\n got  %s\n want %s", got[i], want[i])
		}
	}
	t.Log(err)
}
