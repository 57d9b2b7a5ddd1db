package main

import (
	"io"

	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/flowfiles"
	"github.com/fastsniff/fastsniff/outputs/sink"
	"github.com/fastsniff/fastsniff/reassembly"
)

// outputSet is what every source feeds, -r and -i alike: the connection
// log, the stream files and the HTTP log, one handler of each per worker.
type outputSet struct {
	outs    []func(worker int) reassembly.Handler
	closers []func() error
	ssl     *sslOutput // wraps the others (ssl.go)
	clocked bool       // the logs stamp lines with the workers' clocks (logfiles.go)
}

// openOutputs opens the outputs the options ask for. On error, what was
// opened is closed again.
func openOutputs(o *options, stdout io.Writer, ms *metricsServer) (_ *outputSet, err error) {
	s := &outputSet{}
	var connHandler func(int) reassembly.Handler // the conn log's, added last
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	nout, err := openNATS(&o.nats, o.quiet) // nats.go
	if err != nil {
		return nil, err
	}
	if nout != nil {
		ms.set("nats", nout.source())
		defer func() { s.closers = append(s.closers, nout.close) }() // last: after the logs gave it their last lines
	}
	o.http.tee = o.nats.httpTee(nout, o.http.log, stdout)
	o.nats.create = func(p string) (io.WriteCloser, error) { return o.logWriter("a log", p, stdout) }
	o.http.create = func(p string) (io.WriteCloser, error) { return o.logWriter("--http-log", p, stdout) }
	o.http.capture, s.clocked = o.rotate.capture, o.rotate.capture != nil
	o.http.cid = o.communityID()
	if o.connLog != "" || nout != nil {
		var log *connlog.Log
		if o.nats.wraps() {
			t, err := o.nats.tee(nout, sink.Conn, o.connLog, stdout)
			if err != nil {
				return nil, err
			}
			log = connlog.NewCloser(t, o.connlogOptions())
		} else if o.connLog == "-" {
			log = connlog.New(stdout, o.connlogOptions())
		} else {
			f, err := o.logWriter("--conn-log", o.connLog, stdout)
			if err != nil {
				return nil, err
			}
			log = connlog.NewCloser(f, o.connlogOptions())
		}
		connHandler = func(int) reassembly.Handler { return log.Handler() }
		s.closers = append(s.closers, log.Close)
	}
	if o.flowsDir != "" {
		w, err := flowfiles.New(o.flowsDir, flowfiles.Options{})
		if err != nil {
			return nil, err
		}
		s.outs = append(s.outs, func(int) reassembly.Handler { return w.Handler() })
		s.closers = append(s.closers, w.Close)
	}
	hl, err := openHTTP(&o.http, stdout)
	if err != nil {
		return nil, err
	}
	if hl != nil {
		s.outs = append(s.outs, hl.handler)
		s.closers = append(s.closers, hl.Close)
		ms.addHTTP(hl)
	}
	if connHandler != nil {
		// last: its service field asks the HTTP handler about the
		// connection closing, whose Closed must have run (serviceFrom)
		s.outs = append(s.outs, connHandler)
	}
	if s.ssl, err = openSSL(o, stdout); err != nil {
		return nil, err
	}
	if s.ssl != nil {
		s.closers = append(s.closers, s.ssl.log.Close)
		ms.set("ssl", s.ssl.source())
	}
	return s, nil
}

// handlers returns worker i's handler of every output.
func (s *outputSet) handlers(i int) []reassembly.Handler {
	hs := make([]reassembly.Handler, 0, len(s.outs))
	for _, f := range s.outs {
		hs = append(hs, f(i))
	}
	return hs
}

// serviceFrom has the conn log among hs name "http" in a connection's
// service when the HTTP log's handler among hs (called before it)
// recognised HTTP.
func serviceFrom(hs []reassembly.Handler) {
	for _, x := range hs {
		h, ok := x.(interface{ ClosedHTTP() bool })
		if !ok {
			continue
		}
		for _, y := range hs {
			if m, ok := y.(interface {
				AddService(string, func() bool)
			}); ok {
				m.AddService("http", h.ClosedHTTP)
			}
		}
	}
}

// handler returns worker i's handlers chained (each with its own
// Conn.Ctx slot).
func (s *outputSet) handler(i int) reassembly.Handler {
	hs := s.handlers(i)
	serviceFrom(hs)
	var h reassembly.Handler = reassembly.Funcs{}
	if len(hs) > 0 {
		h = reassembly.Multi(hs...)
	}
	if s.ssl != nil {
		h = s.ssl.wrap(h, hs)
	}
	if s.clocked {
		h = withClock(h, hs)
	}
	return h
}

// close closes every output (after the workers stopped) and returns the
// first error.
func (s *outputSet) close() error {
	var first error
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}
