package decode

import "encoding/binary"

// sum adds b to a ones'-complement checksum accumulator as big-endian
// 16-bit words (an odd last byte is padded with zero).
func sum(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v>>48 + (v>>32)&0xffff + (v>>16)&0xffff + v&0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold folds an accumulator into 16 bits with end-around carry. A packet
// whose checksum is right sums to 0xffff.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
