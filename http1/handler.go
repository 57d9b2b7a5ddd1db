package http1

import "github.com/fastsniff/fastsniff/reassembly"

// Handler adapts a Parser to reassembly.Handler, keeping each connection's
// ConnState in Conn.Ctx. A composite handler that shares Conn.Ctx with
// other handlers should use the Parser's methods with its own state slot
// instead.
type Handler struct {
	*Parser
}

var _ reassembly.Handler = (*Handler)(nil)

// NewHandler returns a Handler over a new Parser.
func NewHandler(cfg Config, cb Callbacks) *Handler {
	return &Handler{NewParser(cfg, cb)}
}

func (h *Handler) state(c *reassembly.Conn) *ConnState {
	s, ok := c.Ctx.(*ConnState)
	if !ok {
		s = h.NewConnState()
		c.Ctx = s
	}
	return s
}

// Opened implements reassembly.Handler.
func (h *Handler) Opened(c *reassembly.Conn) { c.Ctx = h.NewConnState() }

// Sent implements reassembly.Handler: client bytes.
func (h *Handler) Sent(c *reassembly.Conn, d reassembly.Data) {
	h.Feed(h.state(c), c, reassembly.FromClient, d)
}

// Received implements reassembly.Handler: server bytes.
func (h *Handler) Received(c *reassembly.Conn, d reassembly.Data) {
	h.Feed(h.state(c), c, reassembly.FromServer, d)
}

// Closed implements reassembly.Handler.
func (h *Handler) Closed(c *reassembly.Conn, r reassembly.Reason) {
	if s, ok := c.Ctx.(*ConnState); ok {
		h.Close(s, c, r)
	}
	c.Ctx = nil
}
