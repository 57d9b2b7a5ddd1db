package main

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/outputs/logfile"
	"github.com/fastsniff/fastsniff/outputs/pcapwriter"
)

// captureTap is what `-r` shows every packet to (offline.Config.Tap, one
// goroutine): -w, and the capture clock that --rotate follows.
type captureTap struct {
	sink *pcapwriter.Sink // nil without -w
	pw   *pcapwriter.Writer
	// clock and first are the latest and the first packet time read (Unix
	// ns), for other goroutines
	clock, first atomic.Int64
}

// offlineTap returns the tap of a -r run and its -w writer (nil without
// -w). Reading a file, -w waits for the writer: the file written is whole.
func offlineTap(o *options, stdout io.Writer, warn func(error)) (*captureTap, *pcapwriter.Writer, error) {
	t := &captureTap{}
	o.rotate.newLogSet(t.now, t.start, warn)
	if o.rotate.interval > 0 {
		// each line goes to the span of the capture time it was logged
		// at on its worker, not of how far the reader has got
		o.rotate.capture = &logfile.Capture{Interval: o.rotate.interval, Idle: o.reasm.IdleTimeout, Grace: o.reasm.ResetGrace}
	}
	if o.write.path != "" {
		w, err := openPcapOut(&o.write, 0, 0, 8, true, stdout, warn)
		if err != nil {
			return nil, nil, err
		}
		t.pw, t.sink = w, w.Sink()
	}
	return t, t.pw, nil
}

func (t *captureTap) packet(p *pcapfile.Packet, tcp bool) {
	if p.TS > t.clock.Load() {
		if t.clock.Load() == 0 {
			t.first.Store(p.TS)
		}
		t.clock.Store(p.TS)
	}
	if tcp && t.sink != nil {
		t.sink.Write(p.Link, p.TS, p.Data, p.OrigLen)
	}
}

// now is the capture clock: the latest packet time read (zero before the
// first packet).
func (t *captureTap) now() time.Time { return unixTime(t.clock.Load()) }

// start is the first packet's time (zero before it).
func (t *captureTap) start() time.Time { return unixTime(t.first.Load()) }

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// close writes what -w still holds; the reading goroutine is done.
func (t *captureTap) close() error {
	if t.pw == nil {
		return nil
	}
	t.sink.Flush()
	return t.pw.Close()
}

// hook is the tap for offline.Config.Tap, or nil when nothing needs to
// see every packet (no -w, no --rotate): a tap makes every worker decode
// every frame, where without one each decodes only its own flows'
// (engine/offline/owner.go).
func (t *captureTap) hook(o *options) func(*pcapfile.Packet, bool) {
	if o.write.path == "" && o.rotate.interval <= 0 {
		return nil
	}
	return t.packet
}
