package reassembly

// leaseForever marks a stable payload (Segment.Stable): borrowed until the
// Table is flushed.
const leaseForever = ^uint32(0)

// leases remembers, per open lease, the connections that hold payloads
// borrowed under it, so that EndLease visits only those.
type leases struct {
	open  []leaseConns // in order of first use: a handful at a time
	spare [][]*Conn
}

type leaseConns struct {
	id    uint32
	conns []*Conn
}

func (l *leases) note(id uint32, c *Conn) {
	for i := len(l.open) - 1; i >= 0; i-- {
		if o := &l.open[i]; o.id == id {
			// a connection twice in a row is the common case; further
			// repeats only cost EndLease a second look
			if n := len(o.conns); n == 0 || o.conns[n-1] != c {
				o.conns = append(o.conns, c)
			}
			return
		}
	}
	var cs []*Conn
	if n := len(l.spare); n > 0 {
		cs, l.spare = l.spare[n-1], l.spare[:n-1]
	}
	l.open = append(l.open, leaseConns{id: id, conns: append(cs, c)})
}

// take removes lease id and returns its connections (nil if none); give
// them back with done.
func (l *leases) take(id uint32) []*Conn {
	for i := range l.open {
		if l.open[i].id == id {
			cs := l.open[i].conns
			l.open = append(l.open[:i], l.open[i+1:]...)
			return cs
		}
	}
	return nil
}

func (l *leases) done(cs []*Conn) {
	clear(cs) // let closed connections go
	l.spare = append(l.spare, cs[:0])
}

func (l *leases) reset() {
	for _, o := range l.open {
		l.done(o.conns)
	}
	l.open = l.open[:0]
}

// EndLease ends lease id (see Segment.Lease): the Table copies the bytes
// it still holds by reference under it into its own buffers, and no
// longer reads the leased memory. A lease no segment used is a no-op.
func (t *Table) EndLease(id uint32) {
	if id == 0 || id == leaseForever {
		return
	}
	cs := t.leases.take(id)
	for _, c := range cs {
		if c.buffered == 0 || c.half == nil {
			// it holds nothing (most have delivered what they were
			// lent since), or was closed: the Conn's second cache
			// line tells, without a look at its directions
			continue
		}
		for d := range c.half {
			h := &c.half[d]
			for i := range h.segs {
				if sg := &h.segs[i]; sg.buf == nil && sg.lease == id {
					t.own(c, h, sg)
					t.stats.LeaseCopied += uint64(len(sg.data))
				}
			}
		}
	}
	if cs != nil {
		t.leases.done(cs)
	}
}
