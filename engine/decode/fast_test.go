package decode_test

import (
	"encoding/binary"
	"reflect"
	"testing"
	"unsafe"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

// FuzzFastPath decodes each frame with and without the fast path for
// Ethernet/IPv4/TCP (fast.go): the result, the segment (the payload the
// same bytes of the frame) and every counter must be the same.
func FuzzFastPath(f *testing.F) {
	for _, p := range corpusPackets(f) {
		if p.Link == decode.LinkEthernet && len(p.Data) < 4096 {
			f.Add(p.Data, uint16(len(p.Data)), false)
		}
	}
	for _, s := range extraSeeds() {
		f.Add(s, uint16(len(s)), false)
	}
	for _, s := range tunnelCorpus(f) {
		f.Add(s, uint16(len(s)), false)
	}
	for _, c := range tunnelBenchPackets() {
		f.Add(c.data, uint16(len(c.data)), false)
		f.Add(c.data, uint16(len(c.data)), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, orig uint16, tunnelKey bool) {
		cfg := decode.Config{TunnelKey: tunnelKey}
		fast, slow := decode.New(cfg), decode.New(cfg)
		decode.SetNoFast(slow, true)
		var a, b reassembly.Segment
		ra, wa := fast.Decode(decode.LinkEthernet, data, int(orig), 7, &a)
		rb, wb := slow.Decode(decode.LinkEthernet, data, int(orig), 7, &b)
		if ra != rb || wa != wb {
			t.Fatalf("fast %v %v, general %v %v", ra, wa, rb, wb)
		}
		pa, pb := a.Payload, b.Payload
		if len(pa) != len(pb) || len(pa) > 0 && unsafe.SliceData(pa) != unsafe.SliceData(pb) {
			t.Fatalf("payloads differ: fast %d bytes at %p, general %d at %p", len(pa), pa, len(pb), pb)
		}
		a.Payload, b.Payload = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("segments differ:\nfast    %+v\ngeneral %+v", a, b)
		}
		if *fast.Tunnel() != *slow.Tunnel() {
			t.Fatalf("tunnel chains differ:\nfast    %+v\ngeneral %+v", *fast.Tunnel(), *slow.Tunnel())
		}
		if fast.Stats() != slow.Stats() {
			t.Fatalf("counters differ:\nfast    %+v\ngeneral %+v", fast.Stats(), slow.Stats())
		}
	})
}

// The fast path takes exactly the frames it is for, judged here from
// their bytes: of the corpus's Ethernet frames, those with IPv4 without
// options, not fragments, carrying TCP, whole, with sane lengths (a test
// that it runs at all: FuzzFastPath would pass if it never did).
func TestFastPathTakesCommonFrames(t *testing.T) {
	be := binary.BigEndian
	common, other := 0, 0
	for _, p := range corpusPackets(t) {
		d := p.Data
		if p.Link != decode.LinkEthernet || p.OrigLen != len(d) {
			continue
		}
		want := len(d) >= 54 && be.Uint16(d[12:]) == 0x0800 && d[14] == 0x45 && d[23] == 6 &&
			be.Uint16(d[20:])&0x3fff == 0
		if want {
			tot := int(be.Uint16(d[16:]))
			want = tot >= 40 && tot <= len(d)-14
			if want {
				doff := int(d[14+20+12]>>4) << 2
				want = doff >= 20 && doff <= tot-20
			}
		}
		if got := decode.FastTakes(d); got != want {
			t.Fatalf("fast path takes %x: %v, want %v", d, got, want)
		}
		if want {
			common++
		} else {
			other++
		}
	}
	if common < 20 || other < 20 {
		t.Fatalf("%d common frames and %d others: the corpus should have many of both", common, other)
	}
	t.Logf("%d common frames, %d others", common, other)
}

// BenchmarkFastPath decodes the common frames with the fast path (fast)
// and with it turned off (general), in the same run.
func BenchmarkFastPath(b *testing.B) {
	for _, c := range benchPackets()[:2] {
		for _, off := range []bool{false, true} {
			name := c.name + "/fast"
			if off {
				name = c.name + "/general"
			}
			b.Run(name, func(b *testing.B) {
				d := decode.New(decode.Config{})
				decode.SetNoFast(d, off)
				var seg reassembly.Segment
				b.ReportAllocs()
				for b.Loop() {
					if r, _ := d.Decode(decode.LinkEthernet, c.data, len(c.data), 1, &seg); r != decode.ResultTCP {
						b.Fatal(r)
					}
				}
			})
		}
	}
}
