// Package spool is a bounded on-disk queue of records in front of a
// message transport: the log writers append, one publisher reads in order,
// and what the transport acknowledged is committed and deleted. It
// survives restarts: a new process on the same directory reads on from the
// last commit, so what was not acknowledged is sent again (the transport
// deduplicates by record ID).
//
// Layout: DIR/<start>.seg files, <start> being the 16 hex digits of the
// position of the segment's first byte in the endless byte sequence of the
// queue, and DIR/commit holding the committed position. A record is
//
//	n (4) | crc32c of the rest (4) | kind (1) | id length (1) | id | line
//
// n counting from kind on. Opening truncates a last segment cut mid-record
// (a crash during a write) at its last whole record. One process at a time
// (DIR/lock, flock).
//
// Bound: the bytes between the commit and the end never exceed Max. A
// record that does not fit is dropped and counted, and so is every record
// after it until a commit frees space: a full spool keeps the oldest
// records (a gap, not a sieve).
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const hdrLen = 4 + 4 + 1 + 1

// MaxID is the longest record ID.
const MaxID = 255

// MaxRecord bounds a record (a log line is far smaller), so that a corrupt
// length never makes a reader allocate more.
const MaxRecord = 4 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Stats are a spool's counters.
type Stats struct {
	Appended  uint64 // records written in this run
	Dropped   uint64 // records dropped because the spool was full
	Bytes     uint64 // bytes between the commit and the end (the bound applies to it)
	Records   uint64 // records between the commit and the end
	Inherited uint64 // records a previous run left, found at Open
}

// Spool is an open spool directory.
type Spool struct {
	dir     string
	max     int64
	segSize int64
	lock    *os.File

	mu                sync.Mutex // guards what follows, Append and the reader's view
	segs              []int64    // segment starts, ascending
	tail              *os.File   // the last segment, open for appending
	w                 *bufio.Writer
	end               int64 // position after the last appended record (written or buffered)
	flushed           int64 // position up to which records are in the files
	commit            int64
	records           int64 // records between commit and end
	full              bool  // dropping until a commit frees space
	closed            bool
	notify            chan struct{}
	hdr               [hdrLen]byte
	appended, dropped atomic.Uint64
	inherited         uint64
	openEnd           int64
	persisted         int64 // commit as last written to DIR/commit
}

// Open opens (creating if needed) the spool in dir, bounded to max bytes.
func Open(dir string, max int64) (*Spool, error) {
	if max < 4096 {
		return nil, fmt.Errorf("spool: size %d too small (at least 4096 bytes)", max)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %s: in use by another process", dir)
	}
	s := &Spool{dir: dir, max: max, lock: lock, notify: make(chan struct{}, 1)}
	// segments of a quarter of the bound (at most 16 MiB), so that space
	// comes back in steps of a quarter as records are acknowledged
	s.segSize = min(max/4, 16<<20)
	if err := s.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *Spool) segPath(start int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x.seg", start))
}

// load reads the directory: segments, commit, and the end (validating the
// records from the commit on, which also counts them).
func (s *Spool) load() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil || v < 0 {
			continue
		}
		s.segs = append(s.segs, v)
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if b, err := os.ReadFile(filepath.Join(s.dir, "commit")); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v >= 0 {
			s.commit = v
		}
	}
	if len(s.segs) == 0 {
		s.segs = []int64{s.commit}
	}
	if s.commit < s.segs[0] {
		s.commit = s.segs[0]
	}
	// walk from the segment holding the commit; drop older segments
	for len(s.segs) > 1 && s.segs[1] <= s.commit {
		_ = os.Remove(s.segPath(s.segs[0]))
		s.segs = s.segs[1:]
	}
	var last int64
	for i, start := range s.segs {
		from := start
		if i == 0 {
			from = s.commit
		}
		n, end, err := s.scan(start, from)
		if err != nil {
			return err
		}
		s.records += n
		last = end
		if i < len(s.segs)-1 && end != s.segs[i+1] {
			// a cut in the middle: what follows cannot be trusted
			for _, later := range s.segs[i+1:] {
				_ = os.Remove(s.segPath(later))
			}
			s.segs = s.segs[:i+1]
			break
		}
	}
	if s.commit > last { // a commit past a cut: start over at the end
		s.commit = last
	}
	s.end, s.flushed, s.persisted = last, last, -1
	s.inherited = uint64(s.records)
	s.openEnd = last
	tailStart := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(s.segPath(tailStart), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(last - tailStart); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(last-tailStart, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	s.tail = f
	s.w = bufio.NewWriterSize(f, 64<<10)
	return s.persist()
}

// scan validates the segment starting at start from position from: it
// returns the number of whole records and the position after the last.
func (s *Spool) scan(start, from int64) (n, end int64, err error) {
	f, err := os.Open(s.segPath(start))
	if errors.Is(err, os.ErrNotExist) {
		return 0, start, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(from-start, io.SeekStart); err != nil {
		return 0, 0, err
	}
	r := &Reader{br: bufio.NewReaderSize(f, 64<<10)}
	pos := from
	for {
		_, size, err := r.read()
		if err != nil {
			return n, pos, nil // end of file, a cut or a corrupt record
		}
		pos += size
		n++
	}
}

// Append appends one record (line without its '\n'); it returns false when
// the record was dropped because the spool is full. Records become
// readable at the next Flush.
func (s *Spool) Append(kind byte, id, line []byte) (bool, error) {
	if len(id) > MaxID {
		return false, fmt.Errorf("spool: record ID of %d bytes", len(id))
	}
	size := int64(hdrLen + len(id) + len(line))
	if size > MaxRecord {
		return false, fmt.Errorf("spool: record of %d bytes", size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, errors.New("spool: closed")
	}
	if s.full || s.end-s.commit+size > s.max {
		s.full = true
		s.dropped.Add(1)
		return false, nil
	}
	start := s.segs[len(s.segs)-1]
	if s.end-start >= s.segSize {
		if err := s.roll(); err != nil {
			return false, err
		}
	}
	binary.LittleEndian.PutUint32(s.hdr[0:], uint32(size-8))
	s.hdr[8] = kind
	s.hdr[9] = byte(len(id))
	crc := crc32.Update(0, castagnoli, s.hdr[8:])
	crc = crc32.Update(crc, castagnoli, id)
	crc = crc32.Update(crc, castagnoli, line)
	binary.LittleEndian.PutUint32(s.hdr[4:], crc)
	s.w.Write(s.hdr[:])
	s.w.Write(id)
	if _, err := s.w.Write(line); err != nil {
		return false, err
	}
	s.end += size
	s.records++
	s.appended.Add(1)
	return true, nil
}

// roll starts a new segment at the end (mu held).
func (s *Spool) roll() error {
	if err := s.flushLocked(); err != nil {
		return err
	}
	if err := s.tail.Close(); err != nil {
		return err
	}
	f, err := os.OpenFile(s.segPath(s.end), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	s.tail = f
	s.w.Reset(f)
	s.segs = append(s.segs, s.end)
	return nil
}

// Flush writes the appended records to the file and wakes the reader.
func (s *Spool) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.flushLocked()
}

func (s *Spool) flushLocked() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if s.flushed != s.end {
		s.flushed = s.end
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

// Notify is signalled when records were flushed.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// Commit records that every record before pos was acknowledged, n records
// in all since the previous commit: their space is free again. The commit
// reaches the disk at the next Persist.
func (s *Spool) Commit(pos int64, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos <= s.commit {
		return
	}
	s.commit = pos
	s.records -= n
	s.full = false
}

// Persist writes the commit to disk and removes the segments wholly
// before it.
func (s *Spool) Persist() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persist()
}

func (s *Spool) persist() error {
	if s.commit == s.persisted {
		return nil
	}
	tmp := filepath.Join(s.dir, "commit.tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(s.commit, 10)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "commit")); err != nil {
		return err
	}
	s.persisted = s.commit
	for len(s.segs) > 1 && s.segs[1] <= s.commit {
		if err := os.Remove(s.segPath(s.segs[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.segs = s.segs[1:]
	}
	return nil
}

// Stats returns the counters (safe from any goroutine).
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Appended:  s.appended.Load(),
		Dropped:   s.dropped.Load(),
		Bytes:     uint64(s.end - s.commit),
		Records:   uint64(s.records),
		Inherited: s.inherited,
	}
}

// Start is the position a run starts reading at (the commit at Open).
// Records before End at Open are a previous run's.
func (s *Spool) Start() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit
}

// End is the position after the last appended record (flushed or not).
func (s *Spool) End() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// OpenEnd is the end at Open: records ending at or before it were left
// by a previous run.
func (s *Spool) OpenEnd() int64 { return s.openEnd }

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Close flushes and persists, and releases the directory. Readers must be
// closed first.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.flushLocked()
	s.closed = true
	if e := s.persist(); err == nil {
		err = e
	}
	if e := s.tail.Close(); err == nil {
		err = e
	}
	if e := s.lock.Close(); err == nil {
		err = e
	}
	return err
}

// Record is one record read back. Its slices are valid until the next
// Next.
type Record struct {
	Kind byte
	ID   []byte
	Line []byte
	End  int64 // the position after it: commit this once it is acknowledged
}

// Reader reads records in order from a position.
type Reader struct {
	s   *Spool
	pos int64
	seg int64 // start of the open segment
	f   *os.File
	br  *bufio.Reader
	buf []byte
	hdr [hdrLen]byte
}

// NewReader returns a reader at pos (Start, or an End of a record read).
func (s *Spool) NewReader(pos int64) *Reader { return &Reader{s: s, pos: pos, seg: -1} }

// Rewind moves the reader to pos (to read again from a commit).
func (r *Reader) Rewind(pos int64) {
	r.pos = pos
	r.closeFile()
}

func (r *Reader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f, r.br, r.seg = nil, nil, -1
	}
}

// Close releases the reader's file.
func (r *Reader) Close() { r.closeFile() }

// Next returns the next flushed record; ok is false when there is none yet.
func (r *Reader) Next() (rec Record, ok bool, err error) {
	r.s.mu.Lock()
	flushed := r.s.flushed
	seg := int64(-1)
	for i := len(r.s.segs) - 1; i >= 0; i-- {
		if r.s.segs[i] <= r.pos {
			seg = r.s.segs[i]
			break
		}
	}
	r.s.mu.Unlock()
	if r.pos >= flushed {
		return rec, false, nil
	}
	if seg < 0 {
		return rec, false, fmt.Errorf("spool: position %d before the first segment", r.pos)
	}
	if seg != r.seg {
		r.closeFile()
		f, err := os.Open(r.s.segPath(seg))
		if err != nil {
			return rec, false, err
		}
		if _, err := f.Seek(r.pos-seg, io.SeekStart); err != nil {
			f.Close()
			return rec, false, err
		}
		r.f, r.seg = f, seg
		if r.br == nil {
			r.br = bufio.NewReaderSize(f, 64<<10)
		} else {
			r.br.Reset(f)
		}
	}
	rec, size, err := r.read()
	if err != nil {
		return rec, false, fmt.Errorf("spool: %s at %d: %w", r.s.dir, r.pos, err)
	}
	r.pos += size
	rec.End = r.pos
	return rec, true, nil
}

var errCorrupt = errors.New("corrupt record")

// read reads one record from br.
func (r *Reader) read() (Record, int64, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return Record{}, 0, err
	}
	n := int(binary.LittleEndian.Uint32(r.hdr[0:]))
	if n < 2 || n > MaxRecord {
		return Record{}, 0, errCorrupt
	}
	idLen := int(r.hdr[9])
	if idLen > n-2 {
		return Record{}, 0, errCorrupt
	}
	if cap(r.buf) < n-2 {
		r.buf = make([]byte, n-2)
	}
	b := r.buf[:n-2]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return Record{}, 0, err
	}
	crc := crc32.Update(0, castagnoli, r.hdr[8:])
	crc = crc32.Update(crc, castagnoli, b)
	if crc != binary.LittleEndian.Uint32(r.hdr[4:]) {
		return Record{}, 0, errCorrupt
	}
	return Record{Kind: r.hdr[8], ID: b[:idLen], Line: b[idLen:]}, int64(8 + n), nil
}
