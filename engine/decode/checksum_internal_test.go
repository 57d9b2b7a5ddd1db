package decode

import (
	"math/rand/v2"
	"testing"
)

// refSum is RFC 1071, one 16-bit word at a time.
func refSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%5 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		want := refSum(b)
		if want == 0 && n > 0 {
			want = 0xffff // the same value in ones' complement; fold never yields 0 for non-zero sums
		}
		if got := fold(sum(b, 0)); got != want && !(got == 0 && want == 0xffff) {
			t.Fatalf("len %d: fold(sum) = %#04x, want %#04x", n, got, want)
		}
		// A large starting accumulator carries around correctly.
		if got := fold(sum(b, ^uint64(0)-3)); got != fold(uint64(want)+uint64(fold(^uint64(0)-3))) {
			t.Fatalf("len %d: with carry-in %#04x", n, got)
		}
	}
}
