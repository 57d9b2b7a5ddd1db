// Package pcapwriter writes packets to pcap files for `fastsniff -w`, the
// same way for a live capture and for a file read: capture goroutines copy
// packets into 1 MiB buffers they own (a Sink each) and hand full buffers
// to one writer goroutine, which writes them with nanosecond timestamps.
//
// Live, a Sink never waits: when no free buffer is left (the disk is
// slower than the traffic) the packet is dropped from the file and
// counted (Stats.Dropped), never from the capture. Reading a file, the
// Sink waits instead (Config.Wait), so the file written is complete.
//
// Rolling files follow tcpdump: FileSize (-C) starts a new file before a
// packet once the current one is larger; Interval (-G) starts a new file
// when a packet comes Interval or more after the current file was opened,
// the name being Path formatted by Strftime with the packet's time; Count
// (-W) keeps a ring of files. With FileSize alone the files are Path
// followed by 0..Count-1 (zero-padded), overwritten in turn, as tcpdump
// does; with Interval (tcpdump exits after Count files instead) the oldest
// file is removed when a new one makes more than Count. Without Count,
// FileSize files after the first are Path followed by 1, 2, ...
//
// Reopen (SIGHUP) closes the current file and creates a new one with the
// same name, for logrotate, which has moved the old one away.
//
// Time is the packets' clock: the capture clock reading a file, the
// kernel's timestamps (wall clock) live.
package pcapwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
)

// ChunkSize is the size of one buffer of packets.
const ChunkSize = 1 << 20

// recHdr is a pcap record header (nanosecond file, little-endian): ts
// seconds, ts nanoseconds, captured length, wire length. Buffers hold
// packets as the file does, so the writer writes runs of them as they are.
const recHdr = 16

// DefaultSnaplen is the snap length written in the file header when
// Config.Snaplen is 0.
const DefaultSnaplen = 262144

// Config says where and how to write.
type Config struct {
	// Path is the file ("-": Stdout, which cannot roll). With Interval it
	// is a strftime pattern.
	Path string
	// Stdout is where "-" writes (default os.Stdout).
	Stdout io.Writer
	// Snaplen goes in the file header (default DefaultSnaplen).
	Snaplen uint32
	// Link is the file's link type when no packet came to say it (a file
	// with only its header). Otherwise the first packet the writer takes
	// decides: with one Sink (fastsniff -r) the first packet written; with
	// several, the first of the Sink that handed over a buffer first (a
	// Sink hands one over when full, flushed, or when the link type of its
	// packets changes), not necessarily the earliest. Packets of another
	// link type are counted (Stats.Mismatch), as tcpdump writes one link
	// type per file.
	Link decode.LinkType
	// FileSize (bytes), Interval, Count: rolling files (-C, -G, -W).
	FileSize int64
	Interval time.Duration
	Count    int
	// Wait makes Sinks wait for a free buffer rather than drop.
	Wait bool
	// Buffers is the number of ChunkSize buffers (default 8).
	Buffers int
	// Warn receives write errors and packets of another link type than
	// the file's (each kind once).
	Warn func(error)
}

// Stats are a Writer's counters.
type Stats struct {
	Written  uint64 // packets written
	Dropped  uint64 // packets not written: no free buffer, or a write error
	Mismatch uint64 // packets not written: another link type than the file's
	Files    uint64 // files opened
}

type chunk struct {
	buf   []byte
	n     uint64
	link  decode.LinkType // of every packet in buf
	first int64           // time of the first packet
}

// Writer is one -w output: a writer goroutine and its buffers.
type Writer struct {
	cfg    Config
	q      chan *chunk
	free   chan *chunk
	reopen chan struct{}
	done   chan struct{}

	// writer goroutine only
	f         *os.File
	out       io.Writer // f, or Stdout
	name      string
	size      int64
	opened    int64 // packet time the current -G interval began
	cnt       int   // -C files in the current -G interval
	link      decode.LinkType
	haveLink  bool
	err       error
	created   []string // -G with -W: files in creation order
	warnedMis bool

	written, dropped, mismatch, files atomic.Uint64
	closeOnce                         sync.Once
}

// New checks cfg, opens the first file unless its name depends on the
// first packet's time (Interval), and starts the writer goroutine.
func New(cfg Config) (*Writer, error) {
	if cfg.Path == "" {
		return nil, errors.New("pcapwriter: no path")
	}
	if cfg.Path == "-" && (cfg.FileSize > 0 || cfg.Interval > 0) {
		return nil, errors.New("standard output cannot roll over to new files (-C, -G)")
	}
	if cfg.Count > 0 && cfg.FileSize <= 0 && cfg.Interval <= 0 {
		return nil, errors.New("-W needs -C or -G")
	}
	if cfg.Count < 0 || cfg.FileSize < 0 || cfg.Interval < 0 {
		return nil, errors.New("pcapwriter: negative -C, -G or -W")
	}
	if cfg.Snaplen == 0 {
		cfg.Snaplen = DefaultSnaplen
	}
	if cfg.Buffers <= 0 {
		cfg.Buffers = 8
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	w := &Writer{
		cfg:    cfg,
		q:      make(chan *chunk, cfg.Buffers),
		free:   make(chan *chunk, cfg.Buffers),
		reopen: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	switch {
	case cfg.Path == "-":
		w.out = cfg.Stdout
		w.name = "-"
	case cfg.Interval > 0:
		// the first name needs the first packet's time; the directory
		// must exist now, though
		dir := filepath.Dir(Strftime(cfg.Path, time.Now()))
		if st, err := os.Stat(dir); err != nil {
			return nil, err
		} else if !st.IsDir() {
			return nil, fmt.Errorf("%s: not a directory", dir)
		}
	default:
		if err := w.open(); err != nil {
			return nil, err
		}
	}
	for range cfg.Buffers {
		w.free <- &chunk{buf: make([]byte, 0, ChunkSize)}
	}
	go w.loop()
	return w, nil
}

// Sink is one goroutine's way into a Writer: it fills one buffer at a
// time without locks.
type Sink struct {
	w *Writer
	c *chunk
}

// Sink returns a new Sink; each capture goroutine needs its own.
func (w *Writer) Sink() *Sink { return &Sink{w: w} }

// Write copies one packet: ts in Unix nanoseconds, data as captured,
// wireLen its length on the wire.
func (s *Sink) Write(link decode.LinkType, ts int64, data []byte, wireLen int) {
	s.write(link, ts, data, wireLen, false, 0, 0)
}

// WriteTagged is Write for an Ethernet frame whose 802.1Q tag the kernel
// stripped: the tag (tpid, tci) is put back in front of the ethertype.
func (s *Sink) WriteTagged(ts int64, data []byte, wireLen int, tpid, tci uint16) {
	s.write(decode.LinkEthernet, ts, data, wireLen, len(data) >= 12, tpid, tci)
}

func (s *Sink) write(link decode.LinkType, ts int64, data []byte, wireLen int, tagged bool, tpid, tci uint16) {
	size := recHdr + len(data)
	if tagged {
		size += 4
	}
	if size > ChunkSize {
		s.w.dropped.Add(1)
		return
	}
	c := s.c
	if c != nil && (len(c.buf)+size > cap(c.buf) || c.link != link) {
		s.Flush()
		c = nil
	}
	if c == nil {
		if s.w.cfg.Wait {
			c = <-s.w.free
		} else {
			select {
			case c = <-s.w.free:
			default:
				s.w.dropped.Add(1)
				return
			}
		}
		s.c, c.link, c.first = c, link, ts
	}
	le := binary.LittleEndian
	b := c.buf
	wire := max(wireLen, len(data))
	b = le.AppendUint32(b, uint32(ts/1e9))
	b = le.AppendUint32(b, uint32(ts%1e9))
	if tagged {
		b = le.AppendUint32(b, uint32(len(data)+4))
		b = le.AppendUint32(b, uint32(wire+4))
		b = append(b, data[:12]...)
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci)
		b = append(b, data[12:]...)
	} else {
		b = le.AppendUint32(b, uint32(len(data)))
		b = le.AppendUint32(b, uint32(wire))
		b = append(b, data...)
	}
	c.buf = b
	c.n++
}

// Flush hands the Sink's buffer to the writer, if it holds packets. The
// queue has room for every buffer there is, so this never waits.
func (s *Sink) Flush() {
	c := s.c
	if c == nil || c.n == 0 {
		return
	}
	s.c = nil
	s.w.q <- c
}

// FlushAfter is Flush once the buffer's first packet is d older than now
// (packet time): a capture goroutine calls it after every batch, so that
// the buffers go to the writer full or at least d apart, not one mostly
// empty buffer per batch.
func (s *Sink) FlushAfter(now int64, d time.Duration) {
	if c := s.c; c != nil && now-c.first >= int64(d) {
		s.Flush()
	}
}

// Reopen asks the writer to close the current file and create it anew
// (after logrotate moved it), before the next packet.
func (w *Writer) Reopen() {
	select {
	case w.reopen <- struct{}{}:
	default:
	}
}

// Close waits until every buffer handed over is written and closes the
// file. Sinks must be flushed and no longer used. It returns the first
// write error.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() { close(w.q) })
	<-w.done
	return w.err
}

// Stats returns the counters (from any goroutine).
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Dropped: w.dropped.Load(), Mismatch: w.mismatch.Load(), Files: w.files.Load()}
}

func (w *Writer) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.reopen:
			if w.err == nil && w.f != nil {
				w.closeFile()
				if w.err == nil {
					w.err = w.create(w.name)
					w.warnErr()
				}
			}
		case c, ok := <-w.q:
			if !ok {
				if !w.haveLink && w.out != nil && w.err == nil {
					w.haveLink, w.link = true, w.cfg.Link
					w.err = w.header()
				}
				if w.f != nil {
					w.closeFile()
				}
				return
			}
			w.writeChunk(c)
			c.buf, c.n = c.buf[:0], 0
			w.free <- c
		}
	}
}

func (w *Writer) writeChunk(c *chunk) {
	le := binary.LittleEndian
	b := c.buf
	start := 0 // b[start:off] waits to be written to the current file
	for off := 0; len(b)-off >= recHdr; {
		r := b[off:]
		ts := int64(le.Uint32(r))*1e9 + int64(le.Uint32(r[4:]))
		size := recHdr + int(le.Uint32(r[8:]))
		if w.err == nil && w.due(ts) {
			w.write(b[start:off])
			start = off
			if err := w.before(c.link, ts); err != nil && w.err == nil {
				w.err = err
				w.warnErr()
			}
		}
		switch {
		case w.err != nil:
			w.dropped.Add(1)
			start = off + size
		case c.link != w.link:
			w.write(b[start:off])
			start = off + size
			w.mismatch.Add(1)
			if !w.warnedMis && w.cfg.Warn != nil {
				w.warnedMis = true
				w.cfg.Warn(fmt.Errorf("-w %s: packets of link type %d are not written to a file of link type %d (counted)", w.cfg.Path, c.link, w.link))
			}
		default:
			w.size += int64(size)
			w.written.Add(1)
		}
		off += size
	}
	w.write(b[start:])
}

// write writes p, records of the current file, counting a failure.
func (w *Writer) write(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	if _, err := w.out.Write(p); err != nil {
		w.err = err
		w.warnErr()
	}
}

// due reports whether a packet at ts needs before: it is the first, or
// -C or -G starts a new file.
func (w *Writer) due(ts int64) bool {
	switch {
	case !w.haveLink:
		return true
	case w.name == "-":
		return false
	case w.cfg.Interval > 0 && ts-w.opened >= int64(w.cfg.Interval):
		return true
	}
	return w.cfg.FileSize > 0 && w.size > w.cfg.FileSize
}

// before makes sure the right file is open for a packet of link at ts:
// the first file, or the next one when -C or -G says so.
func (w *Writer) before(link decode.LinkType, ts int64) error {
	if !w.haveLink {
		w.haveLink, w.link = true, link
		if w.out == nil { // -G: opened at the first packet
			w.opened = ts
			return w.open()
		}
		return w.header()
	}
	if w.name == "-" {
		return nil
	}
	switch {
	case w.cfg.Interval > 0 && ts-w.opened >= int64(w.cfg.Interval):
		w.cnt, w.opened = 0, ts
		return w.next()
	case w.cfg.FileSize > 0 && w.size > w.cfg.FileSize:
		w.cnt++
		return w.next()
	}
	return nil
}

func (w *Writer) next() error {
	w.closeFile()
	if w.err != nil {
		return w.err
	}
	if err := w.open(); err != nil {
		return err
	}
	return w.header()
}

// fileName is the name of the cnt'th -C file of the interval opened at
// w.opened.
func (w *Writer) fileName() string {
	name := w.cfg.Path
	if w.cfg.Interval > 0 {
		name = Strftime(name, time.Unix(0, w.opened))
	}
	if w.cfg.FileSize > 0 {
		if w.cfg.Count > 0 && w.cfg.Interval == 0 {
			width := len(fmt.Sprint(w.cfg.Count - 1))
			return fmt.Sprintf("%s%0*d", name, width, w.cnt%w.cfg.Count)
		}
		if w.cnt > 0 {
			return fmt.Sprintf("%s%d", name, w.cnt)
		}
	}
	return name
}

// open creates the next file (the header is written once the link type
// is known).
func (w *Writer) open() error {
	name := w.fileName()
	if err := w.create(name); err != nil {
		return err
	}
	if w.cfg.Interval > 0 && w.cfg.Count > 0 {
		if n := len(w.created); n == 0 || w.created[n-1] != name {
			w.created = append(w.created, name)
		}
		for len(w.created) > w.cfg.Count {
			old := w.created[0]
			w.created = w.created[1:]
			if old != name {
				if err := os.Remove(old); err != nil && !os.IsNotExist(err) && w.cfg.Warn != nil {
					w.cfg.Warn(fmt.Errorf("-W: %v", err))
				}
			}
		}
	}
	if w.haveLink {
		return w.header()
	}
	return nil
}

func (w *Writer) create(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w.files.Add(1)
	w.f, w.name, w.size = f, name, 0
	w.out = f
	if w.haveLink && w.name != "-" {
		return w.header()
	}
	return nil
}

// header writes the pcap file header (nanosecond timestamps).
func (w *Writer) header() error {
	if w.size > 0 {
		return nil
	}
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0xa1b23c4d)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], w.cfg.Snaplen)
	le.PutUint32(h[20:], uint32(w.link))
	if _, err := w.out.Write(h[:]); err != nil {
		return err
	}
	w.size = int64(len(h))
	return nil
}

func (w *Writer) closeFile() {
	if w.f != nil {
		if err := w.f.Close(); err != nil && w.err == nil {
			w.err = err
			w.warnErr()
		}
		w.f = nil
	}
}

func (w *Writer) warnErr() {
	if w.err != nil && w.cfg.Warn != nil {
		w.cfg.Warn(fmt.Errorf("-w: %w (no more packets are written)", w.err))
	}
}
