package live

import (
	"fmt"
	"sync/atomic"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/reassembly"
)

// bypasser is the part of *bpf.Program the bypass handler uses.
type bypasser interface {
	Bypass(bpf.FlowKey) error
	Unbypass(bpf.FlowKey) error
}

// bypassHandler wraps a worker's handler: once a direction of a connection
// has delivered more than max bytes, it asks the kernel to cut the
// connection's packets to their headers (both directions; bpf.Bypass
// writes both orientations of the key), and it removes the entry when the
// connection closes. It passes every call through unchanged and does not
// touch Conn.Ctx.
type bypassHandler struct {
	inner      reassembly.Handler
	prog       bypasser
	max        uint64
	ignoreVLAN bool
	cur        *reassembly.Segment // the segment being fed (its VLANs key the flow when the Table ignores them)
	warn       func(error)
	on         map[*reassembly.Conn]bpf.FlowKey
	conns      atomic.Uint64
	errs       uint64
}

func newBypassHandler(inner reassembly.Handler, prog bypasser, max uint64, ignoreVLAN bool, cur *reassembly.Segment, warn func(error)) *bypassHandler {
	return &bypassHandler{inner: inner, prog: prog, max: max, ignoreVLAN: ignoreVLAN, cur: cur, warn: warn, on: map[*reassembly.Conn]bpf.FlowKey{}}
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
	h.bypass(c)
}

// BypassRequester is implemented by a handler that decides itself when a
// connection's payload is no longer needed (the TLS log, once a handshake
// is complete): the worker hands it a function that bypasses a
// connection in the kernel as MaxStreamBytes does (call it from the
// handler's Sent or Received).
type BypassRequester interface {
	SetBypass(func(c *reassembly.Conn))
}

// bypass cuts c's packets to their headers in the kernel, once.
func (h *bypassHandler) bypass(c *reassembly.Conn) {
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
	h.on[c] = k
	if err := h.prog.Bypass(k); err != nil {
		h.errs++
		if h.warn != nil && h.errs <= 3 {
			h.warn(fmt.Errorf("bypass of %v: %w", k, err))
		}
		return
	}
	h.conns.Add(1)
}

func (h *bypassHandler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	h.inner.Closed(c, r)
	if k, ok := h.on[c]; ok {
		delete(h.on, c)
		if err := h.prog.Unbypass(k); err != nil {
			h.errs++
			if h.warn != nil && h.errs <= 3 {
				h.warn(fmt.Errorf("unbypass of %v: %w", k, err))
			}
		}
	}
}
