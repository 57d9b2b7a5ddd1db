// Package pcapfile reads capture files (pcap and pcapng, optionally
// gzip-compressed) as one stream of packets, in batches, without allocating
// per packet.
//
// Formats: classic pcap in either byte order with microsecond or
// nanosecond timestamps, and pcapng with any number of sections and
// interfaces of mixed link types (each packet carries its interface's link
// type), both read with github.com/gopacket/gopacket/pcapgo; either may be
// gzip-compressed (detected by magic, not by name). Stdin ("-"), pipes and
// FIFOs are read once, as they come (Open). A pcap file whose link
// type the decoder does not support is refused at Open; pcapng packets on
// such interfaces are passed on with their link type, for the decoder to
// count (decode.ReasonUnsupportedLink).
//
// Allocation: none per packet in steady state, with one exception: pcapgo
// boxes each pcapng packet's link type into an interface, which allocates
// 2 bytes when the link type is 256 or more (Linux cooked v2 is 276).
// Records longer than 256 KiB are allocated by pcapgo as they are read.
package pcapfile

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/engine/decode"
)

// Packet is one captured packet.
type Packet struct {
	// Data is the captured bytes. It belongs to the Reader and stays valid
	// until the next ReadBatch call.
	Data []byte
	// CaptureLen is len(Data); OrigLen the packet's length on the wire.
	CaptureLen, OrigLen int
	// TS is the capture time in Unix nanoseconds (0 if the file has none).
	TS int64
	// Link is the link type of the file (pcap) or of the packet's
	// interface (pcapng; possibly one decode does not support).
	Link decode.LinkType
}

// ErrTruncated is wrapped by the error for a file that ends inside a
// packet record (errors.Is(err, ErrTruncated)).
var ErrTruncated = errors.New("truncated")

// FileError is an error about one capture file. Its text is one line:
// "pcapfile: NAME: WHAT".
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return "pcapfile: " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// bufSize is the read buffer per open file.
const bufSize = 256 << 10

// Magic numbers, read as a little-endian uint32 from the first 4 bytes.
const (
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapNano    = 0xa1b23c4d
	magicPcapMicroBE = 0xd4c3b2a1
	magicPcapNanoBE  = 0x4d3cb2a1
	magicPcapng      = 0x0a0d0d0a
	magicKuznetzov   = 0xa1b2cd34
	magicKuznetzovBE = 0x34cdb2a1
)

// source is one open capture file.
type source struct {
	f    *os.File
	gz   *gzip.Reader
	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
	st   *streamed       // plain pcap, read into the batches' arenas
	link decode.LinkType // pcap only
}

func (s *source) close() {
	if s.gz != nil {
		s.gz.Close()
	}
	s.f.Close()
}

func (s *source) read() ([]byte, gopacket.CaptureInfo, error) {
	if s.ng != nil {
		return s.ng.ZeroCopyReadPacketData()
	}
	return s.pcap.ZeroCopyReadPacketData()
}

// openSource opens a capture file and reads its file (pcap) or first
// section (pcapng) header.
func openSource(path string) (*source, error) {
	name := displayName(path)
	ferr := func(format string, a ...any) error {
		return &FileError{Path: name, Err: fmt.Errorf(format, a...)}
	}
	f, err := openFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{Path: name, Err: err}
	}
	s := &source{f: f}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, ferr("is a directory")
	}
	br := bufio.NewReaderSize(f, bufSize)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == io.EOF {
			return nil, ferr("empty file")
		}
		return nil, ferr("%v", err)
	}
	var r io.Reader = br
	what := ""
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, ferr("gzip: %v", errText(err))
		}
		s.gz = gz
		br = bufio.NewReaderSize(gz, bufSize)
		r = br
		what = " (in gzip)"
		head, err = br.Peek(4)
		if len(head) == 0 {
			if err == io.EOF {
				return nil, ferr("empty file%s", what)
			}
			return nil, ferr("gzip: %v", errText(err))
		}
	}
	if len(head) < 4 {
		return nil, ferr("not a pcap or pcapng file (only %d bytes%s)", len(head), what)
	}
	switch magic := binary.LittleEndian.Uint32(head); magic {
	case magicPcapMicro, magicPcapNano, magicPcapMicroBE, magicPcapNanoBE:
		p, err := pcapgo.NewReader(r)
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return nil, ferr("truncated pcap file header%s", what)
			}
			return nil, ferr("bad pcap file header%s: %v", what, errText(err))
		}
		s.pcap = p
		s.link = decode.LinkType(p.LinkType())
		if !s.link.Supported() {
			return nil, ferr("unsupported link type %d%s", uint16(s.link), linkName(p.LinkType()))
		}
		if s.gz == nil && path != Stdin { // standard input: from where it stands
			s.st = streamPcap(f, magic, p.Snaplen())
		}
	case magicPcapng:
		ng, err := pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return nil, ferr("truncated pcapng section header%s", what)
			}
			return nil, ferr("bad pcapng section header%s: %v", what, errText(err))
		}
		s.ng = ng
	case magicKuznetzov, magicKuznetzovBE:
		return nil, ferr("unsupported pcap variant (modified/Kuznetzov pcap, magic 0x%08x)%s", binary.BigEndian.Uint32(head), what)
	default:
		return nil, ferr("not a pcap or pcapng file (magic 0x%08x)%s", binary.BigEndian.Uint32(head), what)
	}
	ok = true
	return s, nil
}

// linkName returns " (name)" for a link type gopacket knows by name.
func linkName(l layers.LinkType) string {
	n := l.String()
	if n == "" || n[0] == 'U' { // "UnknownLinkType(N)"
		return ""
	}
	return " (" + n + ")"
}

// errText makes errors from gopacket and compress read as one lower-case
// clause.
func errText(err error) string {
	s := err.Error()
	if len(s) > 0 && s[0] >= 'A' && s[0] <= 'Z' && (len(s) < 2 || s[1] < 'A' || s[1] > 'Z') {
		s = string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

// Reader reads capture files in order as one capture.
type Reader struct {
	paths []string
	held  []*source // per file: the source Open kept (it reads only once)
	idx   int       // next file to open
	cur   *source   // open file, or nil
	path  string    // its name
	n     int       // packets read from it
	arena []byte    // packet bytes of the current batch
	err   error     // to return on the next call
}

// Open checks that every file exists and starts with a pcap or pcapng
// header (plain or gzip-compressed) with supported link types, and returns
// a Reader that reads them in the order given. Errors are *FileError.
//
// Regular files are opened one at a time while reading; Open only probes
// them. A path that is not a regular file (Stdin, a pipe such as a shell's
// `<(zcat x.pcap.gz)`, a FIFO) is opened once, by Open, and held until its
// turn; one given twice is an error.
func Open(paths ...string) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("pcapfile: no files")
	}
	r := &Reader{paths: append([]string(nil), paths...), held: make([]*source, len(paths))}
	if err := r.probe(); err != nil {
		r.closeHeld()
		return nil, err
	}
	return r, nil
}

// Plain reports whether every one of paths is a regular, uncompressed
// classic pcap file (read in place, cheap to read more than once). It
// opens none that is not a regular file.
func Plain(paths ...string) bool {
	for _, p := range paths {
		if !regular(p) {
			return false
		}
		s, err := openSource(p)
		if err != nil {
			return false
		}
		plain := s.st != nil
		s.close()
		if !plain {
			return false
		}
	}
	return len(paths) > 0
}

// File returns the name of the file the last packet came from.
func (r *Reader) File() string { return r.path }

// ReadBatch fills batch with up to len(batch) packets and returns how many
// it filled. The packets' Data stay valid until the next ReadBatch call:
// they are copied out of the file reader's buffer into an arena the Reader
// reuses (it only grows, so a steady state allocates nothing).
//
// ReadBatch returns an error only with n == 0. io.EOF means every file has
// been read. Any other error is a *FileError about the current file (for
// instance a file truncated mid-packet, errors.Is(err, ErrTruncated), after
// all the packets before the cut were returned); the Reader then moves on
// to the next file, so the caller may report the error as a warning and
// call ReadBatch again.
func (r *Reader) ReadBatch(batch []Packet) (int, error) {
	if r.err != nil {
		err := r.err
		r.err = nil
		return 0, err
	}
	arena := r.arena[:0]
	n := 0
	for n < len(batch) {
		if r.cur == nil {
			if r.idx == len(r.paths) {
				break
			}
			r.path = displayName(r.paths[r.idx])
			r.idx++
			r.n = 0
			s, err := r.open(r.idx - 1)
			if err != nil {
				r.err = err
				break
			}
			r.cur = s
		}
		var data []byte
		var ci gopacket.CaptureInfo
		var ts int64
		var err error
		if r.cur.st != nil {
			// the records in hand first, then one through read (which
			// reads more from the file, or says why not)
			k, a := r.cur.st.walk(batch[n:], arena, r.cur.link)
			n, r.n, arena = n+k, r.n+k, a
			if n == len(batch) {
				break
			}
			data, ci, ts, arena, err = r.cur.st.read(arena, len(batch)-n)
			if err == errBatchFull {
				break
			}
		} else {
			data, ci, err = r.cur.read()
		}
		if err != nil {
			ferr := r.fileErr(err, ci)
			r.release(r.cur)
			r.cur = nil
			if ferr != nil {
				r.err = ferr
				break
			}
			continue
		}
		r.n++
		p := &batch[n]
		if r.cur.st != nil {
			p.Data = data // read in place into the arena
		} else {
			if len(arena)+len(data) > cap(arena) {
				// Earlier packets of this batch keep the old arena alive.
				arena = make([]byte, 0, max(2*cap(arena), len(data), 64<<10))
			}
			at := len(arena)
			arena = append(arena, data...)
			p.Data = arena[at:len(arena):len(arena)]
		}
		p.CaptureLen = len(data)
		p.OrigLen = max(ci.Length, len(data))
		p.TS = ts
		if r.cur.st == nil && !ci.Timestamp.IsZero() {
			p.TS = ci.Timestamp.UnixNano()
		}
		p.Link = r.cur.link
		if r.cur.ng != nil && len(ci.AncillaryData) > 0 {
			if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				p.Link = decode.LinkType(l)
			}
		}
		n++
	}
	r.arena = arena
	if n > 0 {
		return n, nil
	}
	if r.err != nil {
		err := r.err
		r.err = nil
		return 0, err
	}
	return 0, io.EOF
}

// fileErr turns a read error into a *FileError, or nil at a clean end.
func (r *Reader) fileErr(err error, ci gopacket.CaptureInfo) error {
	return fileErr(r.path, r.n, err, ci)
}

// fileErr is the *FileError for err in file path after n packets, or nil
// at a clean end.
func fileErr(path string, n int, err error, ci gopacket.CaptureInfo) error {
	switch {
	case err == io.EOF && ci.CaptureLength == 0:
		return nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return &FileError{Path: path, Err: fmt.Errorf("%w in packet %d (after %d complete packets)", ErrTruncated, n+1, n)}
	}
	return &FileError{Path: path, Err: fmt.Errorf("packet %d: %s", n+1, errText(err))}
}

// release closes a source.
func (r *Reader) release(s *source) { s.close() }

// Close closes the open file, if any. The Reader reads nothing more;
// packets already returned stay valid (they are in arenas).
func (r *Reader) Close() error {
	if r.cur != nil {
		r.release(r.cur)
		r.cur = nil
	}
	r.closeHeld()
	r.idx = len(r.paths)
	r.err = nil
	return nil
}
