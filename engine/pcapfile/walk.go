package pcapfile

import (
	"encoding/binary"
	"unsafe"

	"github.com/fastsniff/fastsniff/engine/decode"
)

// walk fills batch with the records that lie whole in s.rest, in place
// (s.rest must start at arena's end, where the last fill left it), and
// returns how many it took and arena with them counted in its length. It
// stops at the first record that is not whole in hand, that the file's
// byte order or a bad length makes the general path's business (read
// reports those errors), or when batch is full.
//
// Why: read returns a record through a gopacket.CaptureInfo and four more
// results and checks for the arena's end twice; on small packets that was
// 300 instructions a record (cachegrind, real traffic at 172 bytes a
// packet: a seventh of fastsniff -r). This loop is the common case only.
func (s *streamed) walk(batch []Packet, arena []byte, link decode.LinkType) (int, []byte) {
	if s.swap || len(s.rest) < 16 || unsafe.SliceData(s.rest) != unsafe.SliceData(arena[len(arena):cap(arena)]) {
		return 0, arena
	}
	rest := s.rest
	mul := int64(1000)
	if s.nano {
		mul = 1
	}
	le := binary.LittleEndian
	n, took := 0, 0
	for n < len(batch) && len(rest) >= 16 {
		caplen := int(le.Uint32(rest[8:]))
		orig := int(le.Uint32(rest[12:]))
		rec := 16 + caplen
		if caplen > s.max || caplen > orig || rec > len(rest) {
			break
		}
		p := &batch[n]
		p.Data = rest[16:rec:rec]
		p.CaptureLen = caplen
		p.OrigLen = orig
		p.TS = int64(le.Uint32(rest[0:]))*1e9 + int64(le.Uint32(rest[4:]))*mul
		p.Link = link
		rest = rest[rec:]
		took += rec
		n++
	}
	if n == 0 {
		return 0, arena
	}
	s.rest = rest
	s.avg += (took/n - s.avg) / 16
	return n, arena[:len(arena)+took]
}
