package flowgen

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// mix64 is the SplitMix64 finalizer: a cheap, well-spread 64-bit hash.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamKey returns the key of one direction's payload (or of a
// conflicting variant of it).
func streamKey(connSeed uint64, dir int, variant uint8) uint64 {
	return mix64(connSeed ^ uint64(dir+1)<<56 ^ uint64(variant)<<48)
}

// fillTrue writes the true stream bytes [off, off+len(dst)) of the stream
// whose key is key. Byte i of the stream is byte i%8 (little endian) of
// mix64(key + i/8*golden), so any range can be made without the rest.
func fillTrue(dst []byte, key, off uint64) {
	blk := off >> 3
	if r := int(off & 7); r != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], mix64(key+blk*0x9e3779b97f4a7c15))
		n := copy(dst, b[r:])
		dst = dst[n:]
		blk++
	}
	for len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst, mix64(key+blk*0x9e3779b97f4a7c15))
		dst = dst[8:]
		blk++
	}
	if len(dst) > 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], mix64(key+blk*0x9e3779b97f4a7c15))
		copy(dst, b[:])
	}
}

// fillPayload writes the bytes a packet carries for [off, off+len(dst)):
// the true bytes when variant is 0, otherwise the true bytes with every
// byte changed (XOR with a non-zero pattern that depends on variant).
func fillPayload(dst []byte, connSeed uint64, dir int, off uint64, variant uint8) {
	fillTrue(dst, streamKey(connSeed, dir, 0), off)
	if variant == 0 {
		return
	}
	k := streamKey(connSeed, dir, variant)
	for i := range dst {
		x := byte(mix64(k+off+uint64(i))) | 1
		dst[i] ^= x
	}
}

// rng is the per-connection random source.
type rng struct{ r *rand.Rand }

func newRNG(seed uint64) rng {
	return rng{rand.New(rand.NewPCG(seed, mix64(seed^0x5851f42d4c957f2d)))}
}

// chance reports true with probability p.
func (g rng) chance(p float64) bool { return p > 0 && g.r.Float64() < p }

// between returns a uniform int in [lo, hi].
func (g rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.r.IntN(hi-lo+1)
}

// logUniform returns an int in [lo, hi] spread evenly over the powers of
// two (a power-of-two bucket is chosen uniformly, then a value in it): many
// small values, a few large ones. Integer arithmetic only, so the output
// is the same on every platform.
func (g rng) logUniform(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	// Buckets of v+1: [2^(b-1), 2^b - 1] for b = Len(lo+1) .. Len(hi+1).
	bl, bh := bits.Len64(uint64(lo)+1), bits.Len64(uint64(hi)+1)
	b := g.between(bl, bh)
	a := max(lo, 1<<(b-1)-1)
	z := min(hi, 1<<b-2)
	return g.between(a, z)
}

// micros returns a duration in nanoseconds uniform in [lo, hi] µs.
func (g rng) micros(lo, hi int) int64 { return int64(g.between(lo*1000, hi*1000)) }
