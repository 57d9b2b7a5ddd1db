package pcapfile

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
)

// Striped reads uncompressed pcap files in fixed-size chunks that several
// goroutines read at the same time (each with its own pread), while the
// records are walked in file order by whichever goroutine holds the
// Cursor. It is how the offline engine reads with several workers: the
// copy out of the page cache, the costly part of reading, is shared among
// them, and only the walk over the record headers is sequential.
//
// A record belongs to the chunk in which it starts; the chunk's reader
// reads past the chunk's end for a record that straddles it.
type Striped struct {
	srcs   []*source
	paths  []string
	chunks []stripe
}

type stripe struct {
	file       int
	start, end int64 // records starting in [start, end) are the chunk's
}

// ErrNotPlain is returned by OpenStriped when a file is not a regular,
// uncompressed classic pcap file: such files are read with a Reader.
var ErrNotPlain = errors.New("pcapfile: not a plain pcap file")

// OpenStriped opens paths (errors as Open: *FileError) for reading in
// chunks of about chunkSize bytes. Close releases the files.
func OpenStriped(chunkSize int, paths ...string) (*Striped, error) {
	if len(paths) == 0 {
		return nil, errors.New("pcapfile: no files")
	}
	chunkSize = max(chunkSize, 64<<10)
	s := &Striped{paths: append([]string(nil), paths...)}
	for i, p := range paths {
		src, err := openSource(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.srcs = append(s.srcs, src)
		if src.st == nil {
			s.Close()
			return nil, ErrNotPlain
		}
		st, err := src.f.Stat()
		if err != nil {
			s.Close()
			return nil, &FileError{Path: p, Err: err}
		}
		for off := int64(24); off < st.Size(); off += int64(chunkSize) {
			s.chunks = append(s.chunks, stripe{file: i, start: off, end: min(off+int64(chunkSize), st.Size())})
		}
	}
	return s, nil
}

// Chunks returns the number of chunks.
func (s *Striped) Chunks() int { return len(s.chunks) }

// Close closes the files.
func (s *Striped) Close() error {
	for _, src := range s.srcs {
		src.close()
	}
	s.srcs = nil
	return nil
}

// Chunk is one chunk's bytes, read by Read into a buffer it reuses.
type Chunk struct {
	buf   []byte
	base  int64 // file offset of buf[0]
	size  int64 // size of the file
	index int
}

// overlap is read past a chunk's end with it, so that the record
// straddling the end seldom needs a read of its own.
const overlap = 4 << 10

// Read reads chunk j into c. Different goroutines may Read different
// chunks at the same time.
func (s *Striped) Read(j int, c *Chunk) error {
	st := s.chunks[j]
	src := s.srcs[st.file]
	fi, err := src.f.Stat()
	if err != nil {
		return &FileError{Path: s.paths[st.file], Err: err}
	}
	c.index, c.base, c.size = j, st.start, fi.Size()
	n := int(min(st.end-st.start+overlap, c.size-st.start))
	if cap(c.buf) < n {
		c.buf = make([]byte, n, n+n/4)
	}
	c.buf = c.buf[:n]
	m, err := src.f.ReadAt(c.buf, st.start)
	c.buf = c.buf[:m]
	if err != nil && err != io.EOF {
		return &FileError{Path: s.paths[st.file], Err: err}
	}
	return nil
}

// extend makes c hold the file's bytes up to offset to (or to its end).
func (s *Striped) extend(c *Chunk, to int64) {
	to = min(to, c.size)
	have := c.base + int64(len(c.buf))
	if to <= have {
		return
	}
	need := int(to - c.base)
	if cap(c.buf) < need {
		nb := make([]byte, len(c.buf), need+overlap)
		copy(nb, c.buf)
		c.buf = nb
	}
	src := s.srcs[s.chunks[c.index].file]
	m, _ := src.f.ReadAt(c.buf[len(c.buf):need], have)
	c.buf = c.buf[:len(c.buf)+m]
}

// Cursor is where the walk over the records is: handed from the goroutine
// that walked one chunk to the one that walks the next. The zero Cursor
// is the start of the first file.
type Cursor struct {
	file  int
	off   int64 // file offset of the next record (0: after the header)
	n     int   // packets taken from the file
	ended bool  // the file ended early (an error): skip its other chunks
}

// Next returns the next packet of chunk c, in place in c's buffer, and
// advances cur past it; ok is false when c has no more packets. An error
// is a *FileError about the chunk's file, as ReadBatch's (a file truncated
// mid-record is errors.Is(err, ErrTruncated)); the rest of that file is
// then skipped and the walk goes on with the next file's chunks.
func (s *Striped) Next(c *Chunk, cur *Cursor) (p Packet, ok bool, err error) {
	st := s.chunks[c.index]
	if cur.file != st.file {
		*cur = Cursor{file: st.file}
	}
	if cur.off == 0 {
		cur.off = 24
	}
	if cur.ended || cur.off >= st.end {
		return p, false, nil
	}
	src := s.srcs[st.file].st
	i := int(cur.off - c.base)
	if i+16 > len(c.buf) {
		s.extend(c, cur.off+16)
	}
	var ci gopacket.CaptureInfo
	if i+16 > len(c.buf) {
		ci.CaptureLength = len(c.buf) - i
		return p, false, s.fail(cur, io.ErrUnexpectedEOF, ci)
	}
	h := c.buf[i : i+16]
	sec := src.order.Uint32(h)
	frac := src.order.Uint32(h[4:])
	ci.CaptureLength = int(src.order.Uint32(h[8:]))
	ci.Length = int(src.order.Uint32(h[12:]))
	switch {
	case ci.CaptureLength > src.max:
		return p, false, s.fail(cur, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, src.max), ci)
	case ci.CaptureLength > ci.Length:
		return p, false, s.fail(cur, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length), ci)
	}
	end := i + 16 + ci.CaptureLength
	if end > len(c.buf) {
		s.extend(c, c.base+int64(end))
		if end > len(c.buf) {
			return p, false, s.fail(cur, io.ErrUnexpectedEOF, ci)
		}
	}
	nsec := int64(frac)
	if !src.nano {
		nsec *= 1000
	}
	p = Packet{
		Data:       c.buf[i+16 : end : end],
		CaptureLen: ci.CaptureLength,
		OrigLen:    ci.Length,
		TS:         int64(sec)*int64(time.Second) + nsec,
		Link:       s.srcs[st.file].link,
	}
	cur.off += int64(16 + ci.CaptureLength)
	cur.n++
	return p, true, nil
}

func (s *Striped) fail(cur *Cursor, err error, ci gopacket.CaptureInfo) error {
	cur.ended = true
	return fileErr(s.paths[cur.file], cur.n, err, ci)
}
