package reassembly

// Multi returns a Handler that calls each of hs in order. Each handler gets
// its own Conn.Ctx slot: Multi swaps Ctx around every call, so handlers
// written to own Ctx can be combined unchanged.
func Multi(hs ...Handler) Handler {
	if len(hs) == 1 {
		return hs[0]
	}
	return &multi{hs: hs}
}

type multi struct {
	hs   []Handler
	free []*ctxSlots
}

// ctxSlots is boxed behind a pointer so that storing it in Conn.Ctx does
// not allocate on every call.
type ctxSlots struct{ v []any }

// IgnoresHalfOpen implements HalfOpenIgnorer: when every handler does.
func (m *multi) IgnoresHalfOpen() bool {
	for _, h := range m.hs {
		if x, ok := h.(HalfOpenIgnorer); !ok || !x.IgnoresHalfOpen() {
			return false
		}
	}
	return true
}

func (m *multi) Opened(c *Conn) {
	var s *ctxSlots
	if n := len(m.free); n > 0 {
		s = m.free[n-1]
		m.free = m.free[:n-1]
	} else {
		s = &ctxSlots{v: make([]any, len(m.hs))}
	}
	for i, h := range m.hs {
		c.Ctx = nil
		h.Opened(c)
		s.v[i] = c.Ctx
	}
	c.Ctx = s
}

func (m *multi) Sent(c *Conn, d Data)     { m.data(c, FromClient, d) }
func (m *multi) Received(c *Conn, d Data) { m.data(c, FromServer, d) }

func (m *multi) data(c *Conn, dir Dir, d Data) {
	s := c.Ctx.(*ctxSlots)
	for i, h := range m.hs {
		c.Ctx = s.v[i]
		if dir == FromClient {
			h.Sent(c, d)
		} else {
			h.Received(c, d)
		}
		s.v[i] = c.Ctx
	}
	c.Ctx = s
}

func (m *multi) Closed(c *Conn, r Reason) {
	s := c.Ctx.(*ctxSlots)
	for i, h := range m.hs {
		c.Ctx = s.v[i]
		h.Closed(c, r)
		s.v[i] = nil
	}
	c.Ctx = nil
	m.free = append(m.free, s)
}
