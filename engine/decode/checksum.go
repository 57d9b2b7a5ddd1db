package decode

import (
	"encoding/binary"
	"math/bits"
)

// sum adds b to a ones'-complement checksum accumulator as big-endian
// 16-bit words (an odd last byte is padded with zero). It adds 64 bits at
// a time with end-around carry: 2^16 = 1 modulo 0xffff, so a 64-bit word
// adds the same as its four 16-bit words.
func sum(b []byte, s uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), 0)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:]), c)
		s += c
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), 0)
		s += c
		b = b[8:]
	}
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.BigEndian.Uint32(b)) << 32
		b = b[4:]
	}
	if len(b) >= 2 {
		t |= uint64(binary.BigEndian.Uint16(b)) << 16
		b = b[2:]
	}
	if len(b) == 1 {
		t |= uint64(b[0]) << 8
	}
	s, c = bits.Add64(s, t, 0)
	return s + c
}

// fold folds an accumulator into 16 bits with end-around carry. A packet
// whose checksum is right sums to 0xffff.
func fold(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
