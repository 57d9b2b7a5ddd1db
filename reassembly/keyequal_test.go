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
