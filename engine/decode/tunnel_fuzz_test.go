package decode_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

// tunnelCorpus reads the Ethernet frames of the tunnelled captures.
func tunnelCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../../testdata/tunnels/pcaps/*.pcap")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no tunnel captures: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		r, err := pcapfile.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		batch := make([]pcapfile.Packet, 64)
		for {
			n, err := r.ReadBatch(batch)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tb.Fatal(err)
			}
			for _, p := range batch[:n] {
				if p.Link == decode.LinkEthernet && len(p.Data) < 2048 {
					out = append(out, append([]byte(nil), p.Data...))
				}
			}
		}
	}
	return out
}

// inside reports whether b lies within data.
func inside(b, data []byte) bool {
	if len(b) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	d := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	return p >= d && p+uintptr(len(b)) <= d+uintptr(len(data))
}

// FuzzTunnel decodes an Ethernet frame alone and wrapped in VXLAN. The
// wrapped copy must decode to the same result and segment, with one more
// layer at the front of the chain (unless that layer is one too many); a
// single frame's payload must point into the frame; the chain stays within
// MaxTunnelDepth.
func FuzzTunnel(f *testing.F) {
	for _, p := range tunnelCorpus(f) {
		f.Add(p)
	}
	inner := innerTCP4()
	f.Add(ether(0x8847, cat(mplsLabels(254, 99), inner)))
	f.Add(ether(0x0800, outer4(17, udpHdr(2152, 2152, gtpHdr(1, inner, []byte{1, 9, 9, 0x85}, []byte{1, 2, 3, 0})))))
	f.Add(ether(0x0800, outer4(47, cat(greHdr(0x1000, 0x22eb, 0), erspan3Hdr(7, 0, true), innerEther()))))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := decode.New(decode.Config{TunnelKey: true})
		var seg reassembly.Segment
		res, why := d.Decode(decode.LinkEthernet, data, len(data), 1, &seg)
		chain := *d.Tunnel()
		checkInvariants(t, d)
		if res == decode.ResultTCP && !inside(seg.Payload, data) {
			t.Fatalf("payload not in the frame")
		}
		if chain.N > decode.MaxTunnelDepth || (res == decode.ResultTCP && seg.Tunnel != chain.Hash()) {
			t.Fatalf("chain %v, seg.Tunnel %#x", chain, seg.Tunnel)
		}

		w := ether(0x0800, outer4(17, udpHdr(1, 4789, cat(vxlanHdr(42), data))))
		d2 := decode.New(decode.Config{})
		var seg2 reassembly.Segment
		res2, why2 := d2.Decode(decode.LinkEthernet, w, len(w), 1, &seg2)
		checkInvariants(t, d2)
		c2 := d2.Tunnel()
		if why2 == decode.ReasonTunnelDepth && chain.N >= decode.MaxTunnelDepth-1 {
			return
		}
		if res2 != res || why2 != why {
			t.Fatalf("alone %v %v (%v), wrapped %v %v (%v)", res, why, chain, res2, why2, c2)
		}
		if res != decode.ResultTCP {
			return
		}
		if c2.N != chain.N+1 || c2.Layers[0] != (decode.Layer{Kind: decode.TunnelVXLAN, HasID: true, ID: 42}) {
			t.Fatalf("chains %v and %v", chain, c2)
		}
		for i := range chain.N {
			if c2.Layers[i+1] != chain.Layers[i] {
				t.Fatalf("chains %v and %v", chain, c2)
			}
		}
		seg.Tunnel = 0
		if !bytes.Equal(seg.Payload, seg2.Payload) {
			t.Fatal("payloads differ")
		}
		seg.Payload, seg2.Payload = nil, nil
		if !reflect.DeepEqual(seg, seg2) {
			t.Fatalf("segments differ:\n%+v\n%+v", seg, seg2)
		}
	})
}
