package httplog

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fastsniff/fastsniff/outputs/internal/filecache"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
)

// writer runs on the pipe's writer goroutine only (its counters are read
// by Log.Stats).
type writer struct {
	out        io.Writer
	stamper    interface{ SetStamp(int64) } // out's, with Options.Capture
	closer     io.Closer
	dir        string
	max        int64
	decompress bool
	maxOpen    int

	lines   []byte  // output of one consume call: written at once
	rec     lineRec // the record being formatted
	files   map[uint64]*bfile
	results map[uint64]*result
	cache   *filecache.Cache // the open body files

	err      error // first error
	logDead  bool  // the log could not be written: stop writing it
	bodyDead bool  // a body file could not be written: stop body I/O

	truncated, written, decoded, decodeErrs counter // written: decoded bytes; see bodyBytes
}

// bodyBytes is the number of bytes written to body files, raw and decoded
// (safe from any goroutine).
func (w *writer) bodyBytes() uint64 {
	n := w.written.Load()
	if w.cache != nil {
		n += w.cache.Written()
	}
	return n
}

// bfile is one body file being written.
type bfile struct {
	filecache.File
	name string // raw name, relative to dir
	enc  int
}

// result is what the line of a body's transaction says about its file.
type result struct {
	name       string
	truncated  bool
	decoded    bool
	decodedLen int64
	decodeErr  string
}

var errFraming = errors.New("httplog: corrupt queue buffer")

func newWriter(out io.Writer, c io.Closer, opt *Options) *writer {
	w := &writer{
		out:        out,
		closer:     c,
		dir:        opt.BodiesDir,
		max:        opt.BodyMax,
		decompress: opt.Decompress,
		maxOpen:    opt.MaxOpen,
	}
	if st, ok := out.(interface{ SetStamp(int64) }); ok && opt.Capture != nil {
		w.stamper = st
	}
	if w.dir != "" {
		w.files = make(map[uint64]*bfile)
		w.results = make(map[uint64]*result)
		w.cache = filecache.New(opt.MaxOpen, 0o644)
	}
	return w
}

func (w *writer) consume(b []byte, stamp int64) error {
	w.lines = w.lines[:0]
	for len(b) > 0 {
		op, id, arg, p, rest, ok := pipe.NextRecord(b)
		if !ok {
			return errFraming
		}
		b = rest
		switch op {
		case opLine:
			if !decodeRecord(p, &w.rec) {
				return errFraming
			}
			w.lines = appendLine(w.lines, &w.rec)
			w.lines = w.appendBody(w.lines, `,"request_body`, id)
			w.lines = w.appendBody(w.lines, `,"response_body`, arg)
			w.lines = append(w.lines, '}', '\n')
		case opOpen:
			if w.files == nil {
				return errFraming
			}
			name := string(p)
			w.files[id] = &bfile{File: filecache.File{Path: w.path(name)}, name: name, enc: int(arg)}
		case opData:
			f := w.files[id]
			if f == nil {
				return errFraming
			}
			if !w.bodyDead {
				w.bodyFail(w.cache.Write(&f.File, int64(arg), p))
			}
		case opEnd:
			if len(p) < 8 {
				return errFraming
			}
			f := w.files[id]
			if f == nil {
				return errFraming
			}
			delete(w.files, id)
			w.results[id] = w.end(f, int64(arg), binary.LittleEndian.Uint64(p))
		default:
			return errFraming
		}
	}
	if !w.bodyDead && w.cache != nil {
		w.bodyFail(w.cache.Flush())
	}
	if len(w.lines) > 0 && !w.logDead {
		if w.stamper != nil {
			w.stamper.SetStamp(stamp)
		}
		n, err := w.out.Write(w.lines)
		if err == nil && n != len(w.lines) {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.logDead = true
			w.fail(err)
		}
	}
	return nil
}

func (w *writer) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// bodyFail records a body I/O error: body files are no longer written
// (the log goes on) and the error is returned by Close.
func (w *writer) bodyFail(err error) {
	if err == nil {
		return
	}
	w.fail(err)
	w.bodyDead = true
	if w.cache != nil {
		w.cache.Abort()
	}
}

// appendBody appends the body fields of a line (prefix is
// `,"request_body` or `,"response_body`).
func (w *writer) appendBody(b []byte, prefix string, id uint64) []byte {
	if id == 0 {
		return b
	}
	r := w.results[id]
	if r == nil {
		return b
	}
	delete(w.results, id)
	b = append(b, prefix...)
	b = append(b, `_file":`...)
	b = jsonw.AppendString(b, r.name)
	if r.truncated {
		b = append(b, prefix...)
		b = append(b, `_truncated":true`...)
	}
	if r.decoded {
		b = append(b, prefix...)
		b = append(b, `_decoded_len":`...)
		b = jsonw.AppendUint(b, uint64(r.decodedLen))
	}
	if r.decodeErr != "" {
		b = append(b, prefix...)
		b = append(b, `_decode_error":`...)
		b = jsonw.AppendString(b, r.decodeErr)
	}
	return b
}

func (w *writer) path(name string) string { return filepath.Join(w.dir, name) }

// end finishes a body file: extended to its length (a trailing gap stays
// a hole), closed, and decoded if asked to.
func (w *writer) end(f *bfile, reached int64, flags uint64) *result {
	r := &result{name: f.name, truncated: flags&endTruncated != 0}
	if w.bodyDead {
		return r
	}
	err := w.cache.Open(&f.File) // also creates a body that had gaps only
	if err == nil {
		err = w.cache.Extend(&f.File, reached)
	}
	if e := w.cache.Close(&f.File); err == nil {
		err = e
	}
	if err != nil {
		w.bodyFail(err)
		return r
	}
	if w.decompress && (f.enc == encGzip || f.enc == encDeflate) {
		switch {
		case flags&endGap != 0:
			r.decodeErr = "gap in the body"
		case r.truncated:
			r.decodeErr = "body truncated at the size cap"
		default:
			w.decode(f, r)
		}
		if r.decodeErr != "" {
			w.decodeErrs.Add(1)
		}
	}
	if r.truncated {
		w.truncated.Add(1)
	}
	return r
}

// decode inflates a finished raw body file into the file without the
// coding's extension, removing the raw file. On a decoding error the
// raw file is kept and r.decodeErr says why.
func (w *writer) decode(f *bfile, r *result) {
	decName := strings.TrimSuffix(f.name, encExt[f.enc])
	in, err := os.Open(w.path(f.name))
	if err != nil {
		w.bodyFail(err)
		return
	}
	defer in.Close()
	br := bufio.NewReaderSize(in, 32<<10)
	var src io.Reader
	switch f.enc {
	case encGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.decodeErr = err.Error()
			return
		}
		src = zr
	case encDeflate:
		// RFC 9110 deflate is zlib-wrapped; some servers send raw deflate
		if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				r.decodeErr = err.Error()
				return
			}
			src = zr
		} else {
			src = flate.NewReader(br)
		}
	}
	out, err := os.OpenFile(w.path(decName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		w.bodyFail(err)
		return
	}
	ow := &errWriter{w: out}
	n, cerr := io.Copy(ow, io.LimitReader(src, w.max+1))
	if ow.err != nil { // the disk, not the data
		out.Close()
		w.bodyFail(ow.err)
		return
	}
	if cerr != nil {
		out.Close()
		os.Remove(w.path(decName))
		r.decodeErr = cerr.Error()
		return
	}
	if n > w.max {
		n = w.max
		r.truncated = true
		if err := out.Truncate(n); err != nil {
			out.Close()
			w.bodyFail(err)
			return
		}
	}
	if err := out.Close(); err != nil {
		w.bodyFail(err)
		return
	}
	in.Close()
	if err := os.Remove(w.path(f.name)); err != nil {
		w.bodyFail(err)
		return
	}
	w.written.Add(uint64(n))
	w.decoded.Add(1)
	r.name, r.decoded, r.decodedLen = decName, true, n
}

// errWriter keeps its writer's error apart from the reader's.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// finish runs after the last buffer: it closes the body files still open
// (bodies of connections never closed) and the destination.
func (w *writer) finish(err error) error {
	w.fail(err)
	if w.cache != nil {
		if !w.bodyDead {
			w.bodyFail(w.cache.Flush())
		}
		w.cache.Discard()
	}
	for id, f := range w.files {
		delete(w.files, id)
		w.bodyFail(w.cache.Close(&f.File))
	}
	if w.closer != nil {
		w.fail(w.closer.Close())
	}
	return w.err
}
