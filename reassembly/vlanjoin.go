package reassembly

// Joining a connection's directions across VLAN stacks.
//
// A SPAN port often tags one direction of a link and not the other (the
// switch adds or strips a tag on one side), or tags the two directions
// with different VLANs. Keyed by VLANs, every connection there would
// become two one-sided ones whose bytes are all gaps. So a packet of a new
// flow looks for the same 4-tuple under each other VLAN stack the Table
// has seen, and joins it when the evidence says it is the other
// direction: that connection has seen only the opposite direction, and
// the sequence numbers agree (a SYN+ACK that ACKs its SYN's ISN+1, this
// packet's ACK within what that side sent, or that side's ACK near this
// packet's sequence number). The joined connection keeps both keys in the
// index. The same 4-tuple with both directions on each of two VLANs never
// joins: neither connection is one-sided.

// maxStacks bounds the VLAN stacks remembered for joining, and so the
// extra lookups a new flow costs (none while a capture has one stack).
const maxStacks = 8

// joinWindow is how far sequence numbers may be apart and still agree.
const joinWindow = 1 << 20

// vlanStacks are the distinct VLAN stacks new flows arrived with.
type vlanStacks struct {
	v [maxStacks]VLANs
	n int
}

// note remembers v; past maxStacks, new stacks are not remembered.
func (vs *vlanStacks) note(v VLANs) {
	for i := 0; i < vs.n; i++ {
		if vs.v[i] == v {
			return
		}
	}
	if vs.n < maxStacks {
		vs.v[vs.n] = v
		vs.n++
	}
}

// join returns the connection that s, a packet of a flow unknown under
// key k, is the other direction of under another VLAN stack, joined to
// k; or nil.
func (t *Table) join(k *Key, h uint64, fromHi bool, s *Segment) *Conn {
	t.stacks.note(k.VLANs)
	if t.stacks.n < 2 {
		return nil
	}
	for i := 0; i < t.stacks.n; i++ {
		if t.stacks.v[i] == k.VLANs {
			continue
		}
		k2 := *k
		k2.VLANs = t.stacks.v[i]
		h2 := k2.Hash()
		c := t.conns.get(&k2, h2)
		if c == nil {
			if ei := t.emb.get(&k2, h2); ei >= 0 {
				if em := t.emb.at(ei); em.fromHi() != fromHi && em.agrees(s) {
					c = t.promote(ei, h2, false)
				}
			}
		} else if c.state == StateClosed || c.aliased || c.key != k2 || !c.agrees(fromHi, s) {
			c = nil
		}
		if c == nil {
			continue
		}
		c.alias, c.aliasHash, c.aliased = *k, h, true
		c.aliasDir = FromClient
		if fromHi != c.clientIsHi {
			c.aliasDir = FromServer
		}
		t.conns.insert(c, h)
		t.cacheKey, t.cacheConn = *k, c
		t.stats.VLANJoined++
		return c
	}
	return nil
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
