package afpacket

import (
	"testing"
	"unsafe"
)

// FuzzBlock walks arbitrary bytes as a ring block: no panic, every frame
// lies inside the block, and no more frames than the block announces.
func FuzzBlock(f *testing.F) {
	bb := NewBlockBuilder(4096)
	for i := 0; i < 3; i++ {
		bb.Add(Frame{Data: make([]byte, 60+i*7), TS: int64(i)})
	}
	f.Add(append([]byte(nil), bb.Bytes()...))
	f.Add(append([]byte(nil), bb.Bytes()[:200]...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		b := ParseBlock(buf)
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
		hi := lo + uintptr(len(buf))
		var fr Frame
		n := 0
		for b.Next(&fr) {
			n++
			if n > b.NumPackets() {
				t.Fatalf("%d frames of %d announced", n, b.NumPackets())
			}
			if len(fr.Data) > 0 {
				p := uintptr(unsafe.Pointer(unsafe.SliceData(fr.Data)))
				if p < lo || p+uintptr(len(fr.Data)) > hi {
					t.Fatalf("frame %d outside the block", n)
				}
			}
		}
	})
}
