// Package logfile is the file under every JSON-lines log (conn.log,
// http.log, ssl.log, ...): rotation at interval boundaries, Zeek-style,
// optional gzip of the closed files in the background, and reopening on
// SIGHUP for logrotate. A log gets all of it by writing to a *File (an
// io.WriteCloser) from its writer goroutine, in writes that each hold
// whole lines: a rotation happens between two writes, so a line is never
// split, lost or written twice.
//
// Rotation: the file is written at its path (conn.json) while it is
// current. At each boundary of the clock (multiples of the interval since
// the Unix epoch, UTC) it is closed and renamed with its span,
// conn.2026-12-02-10-00-00_11-00-00.json (the end's date is written too
// when it is another day), and a new file is started at the path. An
// unstamped write goes to the file current on the Set's clock when it is
// written (live, -i: the wall clock, where Set.Tick rotates idle files
// too), so a line buffered by a worker across a boundary lands in the
// next file. A span that received nothing leaves no file. Close renames
// the last file with the span up to the clock's last reading.
//
// Stamped writes (reading a file, -r): a writer that knows when its
// lines were logged (the capture time on the worker that logged them,
// Capture) says so with File.SetStamp before it writes them, and the lines
// go to the file of the span holding that time, whatever the clock says
// when they are written; so a capture of three hours gives three hourly
// files however fast it is read, and the same ones with any number of
// workers. The Set's clock (the last packet read) then only ends the
// last span's name, and Options.First begins the first's. Workers that read a capture run
// at different points of it, so lines of a span may still come after
// lines of the next one: each span is written to a hidden file of its
// own (.conn.START.json.part), renamed with its span (and compressed) once
// every worker has said its clock passed the span's end (File.Reached, in
// order with its lines), the last ones when the File is closed.
package logfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options tune a Set.
type Options struct {
	// Interval between rotations; 0: the files are never rotated (Reopen
	// still works).
	Interval time.Duration
	// Gzip compresses each rotated file in the background into NAME.gz
	// and removes NAME.
	Gzip bool
	// Clock is the time that rotates (default time.Now). A zero time
	// means "no time yet" (no packet read): nothing rotates.
	Clock func() time.Time
	// First, if set, is when the clock began (the first packet read): the
	// start of the first span. By default a file's first span starts at
	// the first clock reading it sees (its first write or Tick).
	First func() time.Time
	// Warn receives errors of the background compression.
	Warn func(error)
}

// Set is the log files of one run: they share the clock, the rotation and
// SIGHUP.
type Set struct {
	opt   Options
	mu    sync.Mutex
	files []*File
	gz    sync.WaitGroup
	// gzSlots bounds the compressions running at once (a Close of a run
	// with many spans starts them all)
	gzSlots chan struct{}
}

// NewSet returns an empty Set.
func NewSet(opt Options) *Set {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	return &Set{opt: opt, gzSlots: make(chan struct{}, 2)}
}

// File is one log file of a Set. Write, Reopen, Close and the Set's Tick
// may be called from different goroutines.
type File struct {
	set   *Set
	path  string
	mu    sync.Mutex
	f     *os.File
	size  int64     // bytes in the current file
	start time.Time // start of the current span (zero: not yet)
	next  time.Time // the boundary that ends it
	err   error

	// stamped writes (SetStamp)
	stamp  int64           // the next writes' lines were logged at (Unix ns; 0: the clock)
	parts  map[int64]*part // spans written, by start
	tick   uint64          // last use of a part
	nOpen  int             // parts with an open descriptor
	closed bool
	// reached is each worker's last mark (Reached); the spans that end by
	// the earliest are complete
	reached []int64
}

// part is one span's file of stamped writes, written under a hidden name
// until Close.
type part struct {
	start int64 // span start, Unix ns
	tmp   string
	f     *os.File // nil: not open (maxOpenParts)
	size  int64
	used  uint64
}

// maxOpenParts bounds the descriptors a File holds for its spans: the
// workers are rarely more than two spans apart, older ones are reopened
// to append.
const maxOpenParts = 4

// SetStamp says that the lines of the following writes were logged at ns
// (Unix ns, the capture clock): with rotation they go to the file of the
// span holding ns. 0 goes back to the clock. Call it from the goroutine
// that writes.
func (f *File) SetStamp(ns int64) {
	f.mu.Lock()
	f.stamp = ns
	f.mu.Unlock()
}

// Create creates (truncates) path and adds it to the Set.
func (s *Set) Create(path string) (*File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	lf := &File{set: s, path: path, f: f}
	s.mu.Lock()
	s.files = append(s.files, lf)
	s.mu.Unlock()
	return lf, nil
}

// Reopen closes every file and opens it again at its path (appending;
// created if logrotate moved it away): SIGHUP.
func (s *Set) Reopen() error {
	var first error
	for _, f := range s.list() {
		if err := f.Reopen(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Tick rotates every file whose span the clock has passed, also without a
// write (live, once a second).
func (s *Set) Tick() {
	now := s.opt.Clock()
	for _, f := range s.list() {
		f.mu.Lock()
		f.rotateIfDue(now)
		f.mu.Unlock()
	}
}

// Wait waits for the background compressions (after the files' Close).
func (s *Set) Wait() { s.gz.Wait() }

func (s *Set) list() []*File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*File(nil), s.files...)
}

// Write writes b, which must end a line, to the current file, rotating
// it first if the clock passed its span.
func (f *File) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stamp != 0 && f.set.opt.Interval > 0 {
		return f.writeStamped(b)
	}
	f.rotateIfDue(f.set.opt.Clock())
	if f.err != nil {
		return 0, f.err
	}
	if f.f == nil {
		return 0, os.ErrClosed
	}
	n, err := f.f.Write(b)
	f.size += int64(n)
	if err != nil {
		f.err = err
	}
	return n, err
}

// writeStamped writes b to the part of the span holding f.stamp. f.mu is
// held.
func (f *File) writeStamped(b []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.closed {
		return 0, os.ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	iv := int64(f.set.opt.Interval)
	start := floorDiv(f.stamp, iv) * iv
	p := f.parts[start]
	if p == nil {
		if f.parts == nil {
			f.parts = make(map[int64]*part)
		}
		p = &part{start: start, tmp: partName(f.path, start)}
		f.parts[start] = p
	}
	if p.f == nil {
		if err := f.openPart(p); err != nil {
			f.err = err
			return 0, err
		}
	}
	f.tick++
	p.used = f.tick
	n, err := p.f.Write(b)
	p.size += int64(n)
	if err != nil {
		f.err = err
	}
	return n, err
}

// openPart opens p's file (created the first time, appended to after),
// closing the least recently used part first when maxOpenParts are open.
func (f *File) openPart(p *part) error {
	if f.nOpen >= maxOpenParts {
		var lru *part
		for _, q := range f.parts {
			if q.f != nil && (lru == nil || q.used < lru.used) {
				lru = q
			}
		}
		err := lru.f.Close()
		lru.f = nil
		f.nOpen--
		if err != nil {
			return err
		}
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if p.size == 0 {
		flag |= os.O_TRUNC // a part left by a run that crashed
	}
	pf, err := os.OpenFile(p.tmp, flag, 0o644)
	if err != nil {
		return err
	}
	p.f = pf
	f.nOpen++
	return nil
}

// partName is the hidden name a span's stamped lines are written under:
// dir/.conn.START.json.part.
func partName(path string, start int64) string {
	dir, stem, ext := splitName(path)
	return dir + "." + stem + "." + time.Unix(0, start).UTC().Format(timeLayout) + ext + ".part"
}

// Reached says that worker (of workers) will write no line stamped
// before ns (Unix ns): once every worker has said so for a span's end,
// the span's file is closed and renamed with its span (and compressed)
// then, not at Close. Call it from the goroutine that writes.
func (f *File) Reached(worker, workers int, ns int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if worker < 0 || worker >= workers || f.closed || f.set.opt.Interval <= 0 {
		return
	}
	if len(f.reached) != workers {
		r := make([]int64, workers)
		for i := range r {
			r[i] = math.MinInt64
		}
		copy(r, f.reached)
		f.reached = r
	}
	f.reached[worker] = max(f.reached[worker], ns)
	wm := slices.Min(f.reached)
	if wm == math.MinInt64 || len(f.parts) == 0 {
		return
	}
	iv := int64(f.set.opt.Interval)
	var done []int64
	for s := range f.parts {
		if s+iv <= wm {
			done = append(done, s)
		}
	}
	slices.Sort(done)
	first, last := f.clockEnds()
	for _, s := range done {
		if err := f.finishPart(f.parts[s], first, last); err != nil && f.err == nil {
			f.err = err
		}
		delete(f.parts, s)
	}
}

// clockEnds returns the clock's first and last readings, which begin the
// first span's name and end the last's.
func (f *File) clockEnds() (first, last time.Time) {
	if f.set.opt.First != nil {
		first = f.set.opt.First()
	}
	return first, f.set.opt.Clock()
}

// finishPart closes p's file and renames it with its span, begun by first
// and ended by last when they fall in it. f.mu is held.
func (f *File) finishPart(p *part, first, last time.Time) error {
	var err error
	if p.f != nil {
		err = p.f.Close()
		p.f = nil
		f.nOpen--
	}
	begin := time.Unix(0, p.start)
	end := begin.Add(f.set.opt.Interval)
	if !first.IsZero() && first.After(begin) && first.Before(end) {
		begin = first
	}
	if !last.IsZero() && last.Before(end) && !last.Before(begin) {
		end = last
	}
	name := availableName(SpanName(f.path, begin, end))
	if rerr := os.Rename(p.tmp, name); rerr != nil {
		return rerr
	}
	f.compress(name)
	return err
}

// closeParts closes the stamped spans' files and renames each with its
// span: [start, start+interval], the first from the clock's first reading
// (Options.First) and the last up to its last. f.mu is held.
func (f *File) closeParts() error {
	if len(f.parts) == 0 {
		return nil
	}
	starts := make([]int64, 0, len(f.parts))
	for s := range f.parts {
		starts = append(starts, s)
	}
	slices.Sort(starts)
	first, last := f.clockEnds()
	var firstErr error
	for _, s := range starts {
		if err := f.finishPart(f.parts[s], first, last); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	f.parts, f.nOpen = nil, 0
	return firstErr
}

// rotateIfDue starts the span at the first clock reading and rotates
// once the clock reaches its end. f.mu is held.
func (f *File) rotateIfDue(now time.Time) {
	iv := f.set.opt.Interval
	if iv <= 0 || now.IsZero() || f.f == nil || f.err != nil {
		return
	}
	if f.start.IsZero() {
		f.start = now
		if first := f.set.opt.First; first != nil {
			if t := first(); !t.IsZero() && t.Before(now) {
				f.start = t
			}
		}
		f.next = f.start.Truncate(iv).Add(iv)
	}
	if now.Before(f.next) {
		return
	}
	if f.size > 0 {
		if err := f.rotate(f.next); err != nil {
			f.err = err
			return
		}
	}
	// a span that received nothing is not kept: the next one starts at
	// the boundary the clock is in
	f.start = now.Truncate(iv)
	if f.start.Before(f.next) {
		f.start = f.next
	}
	f.next = now.Truncate(iv).Add(iv)
}

// rotate closes the current file, renames it with its span ending at end,
// and creates a new one at the path. f.mu is held.
func (f *File) rotate(end time.Time) error {
	if err := f.f.Close(); err != nil {
		return err
	}
	f.f = nil
	if err := f.archive(end); err != nil {
		return err
	}
	nf, err := os.Create(f.path)
	if err != nil {
		return err
	}
	f.f, f.size = nf, 0
	return nil
}

// archive renames the closed current file with its span [f.start, end]
// and starts its compression.
func (f *File) archive(end time.Time) error {
	name := availableName(SpanName(f.path, f.start, end))
	if err := os.Rename(f.path, name); err != nil {
		return err
	}
	f.compress(name)
	return nil
}

// compress starts the background compression of the closed file name
// with Options.Gzip.
func (f *File) compress(name string) {
	if !f.set.opt.Gzip {
		return
	}
	s := f.set
	s.gz.Add(1)
	go func() {
		defer s.gz.Done()
		s.gzSlots <- struct{}{}
		defer func() { <-s.gzSlots }()
		if err := gzipFile(name); err != nil && s.opt.Warn != nil {
			s.opt.Warn(fmt.Errorf("--rotate-gzip: %v", err))
		}
	}()
}

// Reopen closes the file and opens its path again, appending (creating
// it if it was moved away).
func (f *File) Reopen() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil // closed
	}
	if err := f.f.Close(); err != nil && f.err == nil {
		f.err = err
	}
	f.f = nil
	nf, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		f.err = err
		return err
	}
	f.f = nf
	if st, err := nf.Stat(); err == nil {
		f.size = st.Size()
	}
	return nil
}

// Close closes the file; with rotation, a file that holds lines is renamed
// with its span up to the clock's last reading, and an empty one removed.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		if err := f.closeParts(); err != nil && f.err == nil {
			f.err = err
		}
	}
	if f.f == nil {
		return f.err
	}
	err := f.f.Close()
	f.f = nil
	if f.err == nil {
		f.err = err
	}
	if f.err != nil || f.set.opt.Interval <= 0 {
		return f.err
	}
	now := f.set.opt.Clock()
	if f.size == 0 || f.start.IsZero() {
		if f.size == 0 {
			f.err = os.Remove(f.path)
		}
		return f.err
	}
	if now.Before(f.start) {
		now = f.start
	}
	f.err = f.archive(now)
	return f.err
}

// timeLayout is the span's time in rotated names.
const timeLayout = "2006-01-02-15-04-05"

// SpanName is the name of path's file rotated with the span [start, end]:
// its extension stays last, conn.json → conn.START_END.json, the end
// without its date when it is the start's date.
func SpanName(path string, start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	dir, stem, ext := splitName(path)
	e := end.Format(timeLayout)
	if start.Format("2006-01-02") == end.Format("2006-01-02") {
		e = end.Format("15-04-05")
	}
	return dir + stem + "." + start.Format(timeLayout) + "_" + e + ext
}

// splitName splits path into its directory, the stem of its name and
// its extension.
func splitName(path string) (dir, stem, ext string) {
	dir, base := filepath.Split(path)
	ext = filepath.Ext(base)
	if ext == base {
		ext = "" // a dot file: no extension
	}
	return dir, strings.TrimSuffix(base, ext), ext
}

// availableName returns name, or name with -1, -2, ... before its
// extension if a file of that name exists (a restart within the span):
// never overwrite an archived log.
func availableName(name string) string {
	taken := func(n string) bool {
		_, err := os.Lstat(n)
		_, gerr := os.Lstat(n + ".gz")
		return err == nil || gerr == nil
	}
	if !taken(name) {
		return name
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s-%d%s", stem, i, ext)
		if !taken(n) {
			return n
		}
	}
}

// gzipFile compresses name into name.gz (written as name.gz.tmp, then
// renamed, so a shipper never sees half a file) and removes name.
func gzipFile(name string) (err error) {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := name + ".gz.tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(out)
	zw.Name = filepath.Base(name)
	if _, err = io.Copy(zw, in); err != nil {
		return err
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name+".gz"); err != nil {
		return err
	}
	return os.Remove(name)
}

// ErrStdout is returned for a log on standard output with rotation.
var ErrStdout = errors.New("standard output cannot be rotated")
