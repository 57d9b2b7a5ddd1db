package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/httplog"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/outputs/metrics"
	"github.com/fastsniff/fastsniff/outputs/sink"
	"github.com/fastsniff/fastsniff/reassembly"
)

// httpOptions are the HTTP output flags.
type httpOptions struct {
	log        string
	bodies     string
	bodyMax    bodySize
	decompress bool
	// tee, when set, makes the log's writer (--nats, --sensor; nats.go)
	tee func(path string) (*sink.Tee, error)
	// create, when set, opens the log file (rotation, SIGHUP: logfiles.go)
	create func(path string) (io.WriteCloser, error)
	// capture, when set, stamps lines for rotation (logfiles.go)
	capture *logfile.Capture
	cid     communityid.Field // --community-id
}

// bodySize is a flag value in bytes with an optional k, m or g suffix
// (KiB, MiB, GiB).
type bodySize int64

func (b *bodySize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *bodySize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return fmt.Errorf("want a positive number of bytes, optionally with k, m or g: %q", s)
	}
	*b = bodySize(v * mult)
	return nil
}

func addHTTPFlags(fs *flag.FlagSet, o *httpOptions) {
	o.bodyMax = httplog.DefaultBodyMax
	fs.StringVar(&o.log, "http-log", "", "write one JSON line per HTTP transaction to `PATH` (- for stdout); see outputs/httplog/FIELDS.md")
	fs.StringVar(&o.bodies, "http-bodies", "", "write each HTTP message body (de-chunked) to a file in `DIR`, named <uid>-<trans_depth>-req|res[.ext]")
	fs.Var(&o.bodyMax, "http-body-max", "write at most `SIZE` bytes of each body, k/m/g suffixes (the rest is counted, the line says truncated)")
	fs.BoolVar(&o.decompress, "http-decompress", false, "inflate gzip and deflate bodies written by --http-bodies (output capped by --http-body-max)")
}

// checkHTTPOptions rejects flag combinations that would do nothing.
func checkHTTPOptions(o *httpOptions) error {
	if o.decompress && o.bodies == "" {
		return errors.New("--http-decompress needs --http-bodies DIR")
	}
	return nil
}

// httpOutput is the HTTP log of a run (--http-log, --http-bodies).
type httpOutput struct {
	log *httplog.Log
	tee *sink.Tee // the log's writer with --nats or --sensor, closed after the log
}

// openHTTP opens the HTTP output, or returns nil when neither --http-log
// nor --http-bodies was given. "-" is stdout.
func openHTTP(o *httpOptions, stdout io.Writer) (*httpOutput, error) {
	if o.log == "" && o.bodies == "" && o.tee == nil {
		return nil, nil
	}
	opt := httplog.Options{BodiesDir: o.bodies, BodyMax: int64(o.bodyMax), Decompress: o.decompress, Capture: o.capture, CommunityID: o.cid}
	var log *httplog.Log
	var err error
	if o.tee != nil {
		t, err := o.tee(o.log)
		if err != nil {
			return nil, err
		}
		if log, err = httplog.New(t, opt); err != nil {
			t.Close()
			return nil, err
		}
		return &httpOutput{log: log, tee: t}, nil
	}
	switch o.log {
	case "":
		log, err = httplog.New(io.Discard, opt)
	case "-":
		log, err = httplog.New(stdout, opt)
	default:
		if o.create == nil {
			log, err = httplog.Create(o.log, opt)
			break
		}
		f, ferr := o.create(o.log)
		if ferr != nil {
			return nil, ferr
		}
		if log, err = httplog.NewCloser(f, opt); err != nil {
			f.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	return &httpOutput{log: log}, nil
}

// handler returns worker i's handler (one per worker, created before the
// worker runs).
func (h *httpOutput) handler(int) reassembly.Handler { return h.log.Handler() }

// Close flushes every worker's lines and bodies and returns the first
// write error. Call it after the workers flushed their tables.
func (h *httpOutput) Close() error {
	err := h.log.Close()
	if h.tee != nil {
		if e := h.tee.Close(); err == nil {
			err = e
		}
	}
	return err
}

// source reports the HTTP counters to --metrics.
func (h *httpOutput) source() metrics.Source {
	return func(s *metrics.Snapshot) {
		st := h.log.Stats()
		s.HTTP = &st
	}
}
