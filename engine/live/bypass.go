package live

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/reassembly"
)

// bypasser is the part of *bpf.Program the bypass handler uses.
type bypasser interface {
	BypassWith(bpf.FlowKey, bpf.BypassMode) error
	TakeBypass(bpf.FlowKey) ([2]bpf.DirCounts, bool, error)
}

// bypassed is a connection bypassed in the kernel: its flow key, client
// to server, and the mode.
type bypassed struct {
	key  bpf.FlowKey
	mode bpf.BypassMode
}

// bypassHandler wraps a worker's handler: once a direction of a connection
// has delivered more than max bytes, it asks the kernel to cut the
// connection's packets to their headers (both directions; bpf.BypassWith
// writes both orientations of the key). A BypassRequester's connections
// (the TLS log's, whose payload is no longer reassembled at all) are
// bypassed in drop mode instead: the kernel drops their packets without
// SYN/FIN/RST and only counts them. At the close it reads and removes the
// entry before the inner handler's Closed, adding what the kernel dropped
// to the connection's packet counts (reassembly.Conn.AddUnseen), so the
// conn log counts the packets a saved file would show. It passes every
// call through otherwise unchanged and does not touch Conn.Ctx.
type bypassHandler struct {
	inner      reassembly.Handler
	prog       bypasser
	max        uint64
	ignoreVLAN bool
	cur        *reassembly.Segment // the segment being fed (its VLANs key the flow when the Table ignores them)
	warn       func(error)
	on         map[*reassembly.Conn]bypassed
	conns      atomic.Uint64
	lost       atomic.Uint64 // drop-mode connections whose entry was gone at the close (LRU eviction): their dropped packets are not counted
	errs       uint64
}

func newBypassHandler(inner reassembly.Handler, prog bypasser, max uint64, ignoreVLAN bool, cur *reassembly.Segment, warn func(error)) *bypassHandler {
	return &bypassHandler{inner: inner, prog: prog, max: max, ignoreVLAN: ignoreVLAN, cur: cur, warn: warn, on: map[*reassembly.Conn]bypassed{}}
}

// Flush passes a Flush on to the inner handler if it has one.
func (h *bypassHandler) Flush() {
	if f, ok := h.inner.(flusher); ok {
		f.Flush()
	}
}

func (h *bypassHandler) Opened(c *reassembly.Conn) { h.inner.Opened(c) }

func (h *bypassHandler) Sent(c *reassembly.Conn, d reassembly.Data) {
	h.inner.Sent(c, d)
	h.check(c, reassembly.FromClient)
}

func (h *bypassHandler) Received(c *reassembly.Conn, d reassembly.Data) {
	h.inner.Received(c, d)
	h.check(c, reassembly.FromServer)
}

func (h *bypassHandler) check(c *reassembly.Conn, d reassembly.Dir) {
	if st := c.Stats(d); st.Delivered <= h.max {
		return
	}
	h.bypassWith(c, bpf.BypassCut)
}

// BypassRequester is implemented by a handler that decides itself when a
// connection's payload is no longer needed (the TLS log, once a handshake
// is complete): the worker hands it a function that bypasses a
// connection in the kernel as MaxStreamBytes does (call it from the
// handler's Sent or Received). The function bypasses in drop mode
// (bpf.BypassDrop): the handler must have called Conn.Bypass, since the
// Table then sees only the connection's SYN/FIN/RST and one packet per
// direction a second.
type BypassRequester interface {
	SetBypass(func(c *reassembly.Conn))
}

// bypassDrop is the BypassRequester's function.
func (h *bypassHandler) bypassDrop(c *reassembly.Conn) { h.bypassWith(c, bpf.BypassDrop) }

// bypassWith bypasses c in the kernel in mode m, once.
func (h *bypassHandler) bypassWith(c *reassembly.Conn, m bpf.BypassMode) {
	if _, ok := h.on[c]; ok {
		return
	}
	var vl reassembly.VLANs
	if h.ignoreVLAN {
		vl = h.cur.VLANs
	} else {
		vl = c.VLANs()
	}
	k := bpf.NewFlowKey(c.Client(), c.Server(), vl.IDs[:vl.N]...)
	h.on[c] = bypassed{key: k, mode: m}
	if err := h.prog.BypassWith(k, m); err != nil {
		h.errs++
		if h.warn != nil && h.errs <= 3 {
			h.warn(fmt.Errorf("bypass of %v: %w", k, err))
		}
		return
	}
	h.conns.Add(1)
}

func (h *bypassHandler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	if b, ok := h.on[c]; ok {
		delete(h.on, c)
		n, ok, err := h.prog.TakeBypass(b.key)
		if err != nil {
			h.errs++
			if h.warn != nil && h.errs <= 3 {
				h.warn(fmt.Errorf("unbypass of %v: %w", b.key, err))
			}
		} else if b.mode == bpf.BypassDrop {
			if !ok {
				h.lost.Add(1)
			}
			// cut mode's counts are packets userspace saw
			c.AddUnseen(reassembly.FromClient, n[0].Packets, n[0].Bytes)
			c.AddUnseen(reassembly.FromServer, n[1].Packets, n[1].Bytes)
		}
	}
	h.inner.Closed(c, r)
}

// dropPassInterval is how often a connection bypassed in drop mode passes
// a packet: bpf's default, or a quarter of a shorter idle timeout.
func dropPassInterval(idle time.Duration) time.Duration {
	if idle > 0 && idle/4 < bpf.DefaultDropPassInterval {
		return max(idle/4, time.Millisecond)
	}
	return bpf.DefaultDropPassInterval
}
