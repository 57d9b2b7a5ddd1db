package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"unsafe"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"
)

// streamed reads an uncompressed classic pcap file with large read()
// calls straight into the batch's arena: each byte is copied once, from
// the page cache into an arena the pipeline recycles (so it is warm in
// cache), and a packet's Data is its record in place.
//
// Why not a memory mapping: measured on this project's machines (virtual
// machines with nested paging), when the page cache holds the file in
// 4 KiB pages (a file just written, the usual case after a capture) the
// first access to every page of a mapping costs 1.4-2 µs even after
// MADV_POPULATE_READ, and reading the 768 MB benchmark file with read()
// into a reused buffer takes a third of that time. With large folios in
// the page cache the mapping is cheap, but a mapped variant of the whole
// pipeline was no faster than this one there either (docs/PERFORMANCE.md).
type streamed struct {
	f    *os.File
	swap bool // big-endian file: its header fields are byte-swapped
	nano bool
	max  int // longest record taken (as pcapgo: the snap length, at least 256 KiB)

	// rest is what was read from the file and not yet returned as
	// packets. It lies in the arena of the batch that read it, after that
	// batch's packets, until the next batch moves it to its own arena.
	rest []byte
	eof  bool
	// avg is a running average of the record size, to read about as much
	// as the batch in hand will take (what a batch does not take is moved
	// to the next arena).
	avg int
}

// minArena is the smallest arena a streamed file reads into; minRead the
// smallest read it makes while a batch has room for more.
const (
	minArena = 256 << 10
	minRead  = 16 << 10
)

// streamPcap reads f from after its 24-byte file header when f is a
// regular file; nil otherwise (the caller reads it with pcapgo).
func streamPcap(f *os.File, magic uint32, snaplen uint32) *streamed {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if _, err := f.Seek(24, io.SeekStart); err != nil {
		return nil
	}
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
	s := &streamed{f: f, max: 262144, avg: 1024}
	if int(snaplen) > s.max {
		s.max = int(snaplen)
	}
	s.swap = magic == magicPcapMicroBE || magic == magicPcapNanoBE
	s.nano = magic == magicPcapNano || magic == magicPcapNanoBE
	return s
}

// left is how many bytes of the file are not read yet (0 if unknown).
func (s *streamed) left() int {
	st, err := s.f.Stat()
	if err != nil {
		return 0
	}
	pos, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return int(max(st.Size()-pos, 0))
}

// errBatchFull stops a batch whose arena has no room for the next record:
// the record is read into the next batch's arena.
var errBatchFull = errors.New("batch full")

// read returns the next record, in place in arena, its capture time in
// Unix nanoseconds, and arena with the record counted in its length (or a
// larger arena, allocated while it held no packet). want is how many more
// packets the batch takes. Errors as pcapgo's reader: io.EOF at a clean
// end, io.ErrUnexpectedEOF (with a non-zero capture length) when the file
// ends inside a record; and errBatchFull when arena, which holds packets
// already, has no room left for the record.
func (s *streamed) read(arena []byte, want int) ([]byte, gopacket.CaptureInfo, int64, []byte, error) {
	var ci gopacket.CaptureInfo
	arena, err := s.fill(arena, 16, want)
	if err != nil {
		if err == io.EOF && len(s.rest) > 0 {
			ci.CaptureLength = len(s.rest)
			s.rest = nil
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, 0, arena, err
	}
	h := s.rest[:16]
	sec := s.u32(h[0:])
	frac := s.u32(h[4:])
	ci.CaptureLength = int(s.u32(h[8:]))
	ci.Length = int(s.u32(h[12:]))
	if ci.CaptureLength > s.max {
		return nil, ci, 0, arena, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, s.max)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, 0, arena, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	rec := 16 + ci.CaptureLength
	if arena, err = s.fill(arena, rec, want); err != nil {
		if err == io.EOF {
			s.rest = nil
			err = io.ErrUnexpectedEOF
		}
		return nil, ci, 0, arena, err
	}
	// what time.Unix(sec, nsec).UnixNano() gives (as pcapgo), without
	// the round trip through time.Time
	nsec := int64(frac)
	if !s.nano {
		nsec *= 1000
	}
	ts := int64(sec)*1e9 + nsec
	data := s.rest[16:rec:rec]
	s.rest = s.rest[rec:]
	s.avg += (rec - s.avg) / 16
	return data, ci, ts, arena[:len(arena)+rec], nil
}

// u32 reads a record header field in the file's byte order.
func (s *streamed) u32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if s.swap {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// fill makes s.rest start at the end of arena's packets and hold at least
// need bytes: it moves s.rest there (from the arena of the batch that
// read it) and reads after it, about as much as the batch wants.
func (s *streamed) fill(arena []byte, need, want int) ([]byte, error) {
	tail := arena[len(arena):cap(arena)]
	if len(s.rest) >= need && unsafe.SliceData(s.rest) == unsafe.SliceData(tail) {
		return arena, nil // the common case: the record is there
	}
	if s.eof && len(s.rest) < need {
		return arena, io.EOF
	}
	if need > minRead && need > len(s.rest)+s.left() {
		// A record longer than what is left of the file (a garbage
		// length under a huge snap length): truncated, and no arena
		// is allocated for it.
		s.eof = true
		return arena, io.EOF
	}
	// the bytes in hand (moved here if they are elsewhere), the record,
	// and a read worth making
	room := max(need, len(s.rest)) + minRead
	if len(tail) < room {
		if len(arena) > 0 {
			return arena, errBatchFull
		}
		// No larger than the file needs: small captures stay small.
		arena = make([]byte, 0, max(min(minArena, len(s.rest)+s.left()), room))
		tail = arena[:cap(arena)]
	}
	if len(s.rest) > 0 && unsafe.SliceData(s.rest) != unsafe.SliceData(tail) {
		copy(tail, s.rest) // memmove: s.rest may lie in this arena
	}
	n := len(s.rest)
	ask := min(len(tail), max(need, want*s.avg, minRead))
	for n < need && !s.eof {
		m, err := s.f.Read(tail[n:ask])
		n += m
		if err == io.EOF || (err == nil && m == 0) {
			s.eof = true
		} else if err != nil {
			s.rest = tail[:n]
			return arena, err
		}
	}
	s.rest = tail[:n]
	if n < need {
		return arena, io.EOF
	}
	return arena, nil
}
