package reassembly

import (
	"math/rand/v2"
	"testing"
)

// Key.equal is ==, field by field: every field that differs alone makes
// the keys different.
func TestKeyEqualIsEquality(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	randKey := func() Key {
		var k Key
		for i := range k.Lo.Addr {
			k.Lo.Addr[i], k.Hi.Addr[i] = byte(rng.IntN(3)), byte(rng.IntN(3))
		}
		k.Lo.Port, k.Hi.Port, k.Tunnel = uint16(rng.IntN(3)), uint16(rng.IntN(3)), uint32(rng.IntN(2))
		for range rng.IntN(3) {
			k.VLANs.Push(uint16(rng.IntN(3)))
		}
		return k
	}
	for range 100_000 {
		a := randKey()
		b := a
		switch rng.IntN(8) { // change one field, or none
		case 0:
			b.Lo.Addr[rng.IntN(16)] ^= 1
		case 1:
			b.Hi.Addr[rng.IntN(16)] ^= 0x80
		case 2:
			b.Lo.Port++
		case 3:
			b.Hi.Port ^= 0x100
		case 4:
			b.Tunnel++
		case 5:
			b.VLANs.Push(9)
		case 6:
			b = randKey()
		}
		if a.equal(&b) != (a == b) || b.equal(&a) != (a == b) {
			t.Fatalf("equal(%v, %v) = %v, == says %v", a, b, a.equal(&b), a == b)
		}
	}
}

// KeyOf orders the endpoints as Endpoint.less does (the canonical key that
// the index, embryos and logs rely on), for addresses and ports that
// differ in any byte, or not at all, and leaves VLANs out with noVLAN.
func TestKeyOfIsCanonical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200_000 {
		var s Segment
		for i := range s.Src {
			// few values per byte, so that long equal prefixes are common
			s.Src[i], s.Dst[i] = byte(rng.IntN(2))<<uint(rng.IntN(8)), byte(rng.IntN(2))<<uint(rng.IntN(8))
		}
		if rng.IntN(4) == 0 {
			s.Dst = s.Src
		}
		s.SrcPort, s.DstPort = uint16(rng.IntN(3))<<uint(rng.IntN(16)), uint16(rng.IntN(3))<<uint(rng.IntN(16))
		s.Tunnel = uint32(rng.IntN(3))
		s.VLANs.Push(uint16(rng.IntN(5)))
		noVLAN := rng.IntN(2) == 0
		src, dst := Endpoint{s.Src, s.SrcPort}, Endpoint{s.Dst, s.DstPort}
		want := Key{Lo: src, Hi: dst, Tunnel: s.Tunnel}
		wantHi := dst.less(src)
		if wantHi {
			want.Lo, want.Hi = dst, src
		}
		if !noVLAN {
			want.VLANs = s.VLANs
		}
		k, fromHi := KeyOf(&s, noVLAN)
		if k != want || fromHi != wantHi {
			t.Fatalf("KeyOf(%+v, %v) = %+v, %v; want %+v, %v", s, noVLAN, k, fromHi, want, wantHi)
		}
		// set overwrites every field of a used key
		k2 := Key{VLANs: VLANs{IDs: [MaxVLANs]uint16{7, 7, 7, 7}, N: 4}, Tunnel: 9}
		k2.Lo.Addr[3] = 0xee
		if fromHi2 := k2.set(&s, noVLAN); k2 != want || fromHi2 != wantHi {
			t.Fatalf("set over a used key = %+v, %v; want %+v, %v", k2, fromHi2, want, wantHi)
		}
	}
}
