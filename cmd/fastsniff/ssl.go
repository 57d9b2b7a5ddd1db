package main

import (
	"flag"
	"io"

	"github.com/fastsniff/fastsniff/engine/live"
	"github.com/fastsniff/fastsniff/outputs/metrics"
	"github.com/fastsniff/fastsniff/outputs/ssllog"
	"github.com/fastsniff/fastsniff/reassembly"
)

// sslOptions are the TLS log flags.
type sslOptions struct {
	log    string
	bypass bool
}

func addSSLFlags(fs *flag.FlagSet, o *sslOptions) {
	fs.StringVar(&o.log, "ssl-log", "", "write one JSON line per TLS connection to `PATH` (- for stdout); see outputs/ssllog/FIELDS.md")
	fs.BoolVar(&o.bypass, "tls-bypass", true, "with --ssl-log: stop reassembling a TLS connection once its handshake is complete (never with --flows, --digest or -w, which need every byte)")
}

// sslOutput is the TLS log of a run. Its per-worker Handler wraps the
// worker's other handlers, so that a bypassed connection's bytes reach
// none of them.
type sslOutput struct{ log *ssllog.Log }

// openSSL opens the TLS log, or returns nil without --ssl-log. The bypass
// is on only when no output needs every byte.
func openSSL(o *options, stdout io.Writer) (*sslOutput, error) {
	if o.ssl.log == "" {
		return nil, nil
	}
	// every byte is needed by the stream files and the digests, and -w
	// must write whole packets, which a kernel bypass would cut
	opt := ssllog.Options{Bypass: o.ssl.bypass && o.flowsDir == "" && !o.digest && o.write.path == "", Capture: o.rotate.capture, CommunityID: o.communityID()}
	var log *ssllog.Log
	if o.ssl.log == "-" {
		log = ssllog.New(stdout, opt)
	} else {
		f, err := o.logWriter("--ssl-log", o.ssl.log, stdout) // rotation, SIGHUP
		if err != nil {
			return nil, err
		}
		log = ssllog.NewCloser(f, opt)
	}
	return &sslOutput{log}, nil
}

// wrap returns worker i's TLS handler around inner; a connection log
// handler among hs learns which connections were bypassed.
func (s *sslOutput) wrap(inner reassembly.Handler, hs []reassembly.Handler) reassembly.Handler {
	h := s.log.Handler(inner)
	for _, x := range hs {
		if m, ok := x.(interface {
			SetBypassed(func() (bool, uint64))
		}); ok {
			m.SetBypassed(h.Bypassed)
		}
		if m, ok := x.(interface {
			AddService(string, func() bool)
		}); ok {
			m.AddService("ssl", h.ClosingTLS)
		}
	}
	return h
}

// source reports the TLS counters to --metrics.
func (s *sslOutput) source() metrics.Source {
	return func(sn *metrics.Snapshot) {
		st := s.log.Stats()
		sn.SSL = &st
	}
}

// liveSSLHandler is a live worker's chain with the TLS handler on top: it
// takes the engine's kernel bypass (live.BypassRequester) for the TLS
// handler and flushes its lines when the worker is idle.
type liveSSLHandler struct {
	*liveHandler
	ssl *ssllog.Handler
}

// SetBypass implements live.BypassRequester.
func (h liveSSLHandler) SetBypass(f func(c *reassembly.Conn)) { h.ssl.SetBypass(f) }

// wrapLive puts worker i's TLS handler around a live chain.
func (s *sslOutput) wrapLive(h *liveHandler, hs []reassembly.Handler) reassembly.Handler {
	sh := s.wrap(h.Handler, hs).(*ssllog.Handler)
	h.Handler = sh
	h.flush = append(h.flush, sh.Flush)
	return liveSSLHandler{h, sh}
}

var _ live.BypassRequester = liveSSLHandler{}
