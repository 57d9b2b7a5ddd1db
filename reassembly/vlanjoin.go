package reassembly

// Joining a connection's directions across VLAN stacks.
//
// A SPAN port often tags one direction of a link and not the other (the
// switch adds or strips a tag on one side), or tags the two directions
// with different VLANs. Keyed by VLANs, every connection there would
// become two one-sided ones whose bytes are all gaps. So a packet of a new
// flow looks for the same 4-tuple under other VLAN stacks (Key.Hash leaves
// VLANs out, so they share its probe run: no extra lookup, however many
// VLANs the link carries), and joins it when the evidence says it is the
// other direction: that connection has seen only the opposite direction, and
// the sequence numbers agree (a SYN+ACK that ACKs its SYN's ISN+1, this
// packet's ACK within what that side sent, or that side's ACK near this
// packet's sequence number). The joined connection keeps both keys in the
// index. The same 4-tuple with both directions on each of two VLANs never
// joins: neither connection is one-sided.

// joinWindow is how far sequence numbers may be apart and still agree.
const joinWindow = 1 << 20

// join returns the connection that s, a packet of a flow unknown under
// key k (hash h), is the other direction of under another VLAN stack,
// joined to k; or nil. Key.Hash leaves VLANs out, so the candidates are in
// k's probe run of each index.
func (t *Table) join(k *Key, h uint64, fromHi bool, s *Segment) *Conn {
	if k.VLANs.N > 0 {
		t.sawVLAN = true
	}
	if !t.sawVLAN {
		return nil
	}
	c := t.conns.other(k, h, func(c *Conn) bool {
		return c.state != StateClosed && !c.aliased && c.agrees(fromHi, s)
	})
	if c == nil {
		ei := t.emb.other(k, h, func(em *embryo) bool { return em.fromHi() != fromHi && em.agrees(s) })
		if ei < 0 {
			return nil
		}
		c = t.promote(ei, h, false)
		if c == nil {
			return nil
		}
	}
	c.alias, c.aliasHash, c.aliased = *k, h, true
	c.aliasDir = FromClient
	if fromHi != c.clientIsHi {
		c.aliasDir = FromServer
	}
	t.conns.insert(c, h)
	t.cacheConn = c
	t.stats.VLANJoined++
	return c
}

// sameFlow reports whether a and b are one flow but for their VLANs.
func sameFlow(a, b *Key) bool {
	return a.Lo == b.Lo && a.Hi == b.Hi && a.Tunnel == b.Tunnel && a.VLANs != b.VLANs
}

// other returns the first connection in k's probe run (hash h) that is
// k's flow on other VLANs and for which ok holds.
func (x *index) other(k *Key, h uint64, ok func(*Conn) bool) *Conn {
	mask := uint64(len(x.slots) - 1)
	for i := x.home(h); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.c == nil {
			return nil
		}
		if s.hash == h && sameFlow(&s.c.key, k) && ok(s.c) {
			return s.c
		}
	}
}

// other returns the first embryo in k's probe run (hash h) that is k's
// flow on other VLANs and for which ok holds, or -1.
func (e *embryos) other(k *Key, h uint64, ok func(*embryo) bool) int32 {
	if e.n == 0 {
		return -1
	}
	tag := uint32(h >> 32)
	mask := uint64(len(e.slots) - 1)
	for i := e.home(tag); ; i = (i + 1) & mask {
		s := e.slots[i]
		if s.ref == 0 {
			return -1
		}
		if s.tag != tag {
			continue
		}
		em := e.at(int32(s.ref - 1))
		if ek := e.key(em); sameFlow(&ek, k) && ok(em) {
			return int32(s.ref - 1)
		}
	}
}

// agrees reports whether s can be the first packet of the direction the
// embryo has not seen: what Conn.agrees says of the Conn it would become.
func (em *embryo) agrees(s *Segment) bool {
	lo := em.seq
	if em.flags&SYN != 0 {
		lo++
	}
	if s.Flags&ACK != 0 && acks(s.Ack, lo, lo, em.flags&FIN != 0) {
		return true
	}
	return em.flags&ACK != 0 && near(s.Seq, em.ack)
}

// acks reports whether a lies in [lo, hi], or is hi+1 after a FIN.
func acks(a, lo, hi Seq, fin bool) bool {
	if fin && a == hi+1 {
		return true
	}
	return a.Diff(hi) <= 0 && a.Diff(lo) >= 0
}

// agrees reports whether s, from the Hi side when fromHi, can be the first
// packet of the direction c has not seen.
func (c *Conn) agrees(fromHi bool, s *Segment) bool {
	d := FromClient
	if fromHi != c.clientIsHi {
		d = FromServer
	}
	seen, unseen := &c.half[d^1], &c.half[d]
	if unseen.stats.Packets != 0 || seen.stats.Packets == 0 {
		return false // not one-sided the other way
	}
	if s.Flags&ACK != 0 && seen.maxValid {
		lo := seen.next
		if seen.isnKnown {
			lo = seen.isn + 1
		}
		if acks(s.Ack, lo, seen.maxEnd, seen.stats.FIN) {
			return true
		}
	}
	return unseen.ackValid && near(s.Seq, unseen.ack)
}

func near(a, b Seq) bool {
	d := a.Diff(b)
	return d > -joinWindow && d < joinWindow
}
