package pcapwriter

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/gopacket/gopacket/layers"
)

// FuzzWriter writes packets made from the input (sizes, time steps, link
// types) through two Sinks with rolling options made from it too, reads
// every file back and checks: each packet of the file's link type is
// written once, unchanged and in its Sink's order, the others counted as
// Mismatch, none dropped (Wait), and -W keeps at most COUNT files.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("\x00\x10\x05\x01\x40\x00\x02\x30\x10\x01"), uint16(3000), uint8(2), uint8(3))
	f.Add(bytes.Repeat([]byte{0xff, 0x01, 0x80}, 50), uint16(0), uint8(0), uint8(0))
	f.Add([]byte("\x05\x05\x05\x05\x05\x05\x05\x05"), uint16(1), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, fileSize uint16, interval, count uint8) {
		if len(in) > 3000 {
			return
		}
		dir := t.TempDir()
		cfg := Config{Path: filepath.Join(dir, "f.pcap"), Wait: true, Buffers: 2,
			FileSize: int64(fileSize), Interval: time.Duration(interval%4) * time.Second, Count: int(count % 4)}
		if cfg.Interval > 0 {
			cfg.Path = filepath.Join(dir, "g-%s.pcap")
		}
		if cfg.Count > 0 && cfg.FileSize == 0 && cfg.Interval == 0 {
			cfg.Count = 0
		}
		w, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sinks := []*Sink{w.Sink(), w.Sink()}
		type sent struct {
			ts   int64
			data []byte
			link decode.LinkType
		}
		var all []sent
		var firstOf [2]decode.LinkType // each Sink's first packet's link type
		var used [2]bool
		ts := int64(1_700_000_000) * 1e9
		for i := 0; i+2 < len(in); i += 3 {
			size := int(in[i]) * 37 % 2000
			ts += int64(in[i+1]) * 17e7
			link := decode.LinkEthernet
			if in[i+2]&0x80 != 0 {
				link = decode.LinkRaw
			}
			d := bytes.Repeat([]byte{in[i+2]}, size)
			if size >= 4 {
				binary.BigEndian.PutUint32(d, uint32(i))
			}
			si := int(in[i+2]) & 1
			if !used[si] {
				used[si], firstOf[si] = true, link
			}
			sinks[si].Write(link, ts, d, size)
			all = append(all, sent{ts, d, link})
		}
		for _, s := range sinks {
			s.Flush()
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Dropped != 0 || st.Written+st.Mismatch != uint64(len(all)) {
			t.Fatalf("stats %+v for %d packets", st, len(all))
		}
		ents, _ := os.ReadDir(dir)
		if cfg.Count > 0 && len(ents) > cfg.Count {
			t.Fatalf("%d files with -W %d", len(ents), cfg.Count)
		}
		var got []pkt
		var fileLink []layers.LinkType
		for _, e := range ents {
			l, ps := readPcap(t, filepath.Join(dir, e.Name()))
			got = append(got, ps...)
			fileLink = append(fileLink, l)
		}
		if cfg.Count > 0 || len(all) == 0 {
			return // the ring dropped files: only the checks above hold
		}
		// The first buffer the writer takes decides the link type: the
		// first one some Sink handed over (when full, flushed or when its
		// link type changed), which starts with that Sink's first packet.
		if len(fileLink) == 0 {
			t.Fatal("no file")
		}
		first := decode.LinkType(fileLink[0])
		if !(used[0] && first == firstOf[0]) && !(used[1] && first == firstOf[1]) {
			t.Fatalf("file of link type %d; the Sinks' first packets: %v (used %v)", first, firstOf, used)
		}
		for i, l := range fileLink {
			if decode.LinkType(l) != first {
				t.Fatalf("file %d of link type %d, the first %d", i, l, first)
			}
		}
		var want []pkt
		for _, s := range all {
			if s.link == first {
				want = append(want, pkt{s.ts, s.data, len(s.data)})
			}
		}
		if uint64(len(want)) != st.Written || len(got) != len(want) {
			t.Fatalf("%d packets read, %d of the first link type, %d written", len(got), len(want), st.Written)
		}
		key := func(p pkt) string { return string(binary.BigEndian.AppendUint64(nil, uint64(p.ts))) + string(p.data) }
		sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
		sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
		for i := range want {
			if got[i].ts != want[i].ts || !bytes.Equal(got[i].data, want[i].data) || got[i].wire != want[i].wire {
				t.Fatalf("packet %d differs", i)
			}
		}
	})
}
