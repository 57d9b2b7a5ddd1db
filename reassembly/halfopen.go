package reassembly

// The Table's side of half-open connections (embryo.go has the arena).

// hatch records s, the first packet of an unknown flow (key k, hash h, q
// from embryos.lookup or zero), as an embryo,
// evicting the oldest embryo when MaxHalfOpen are held. It returns false
// when the key cannot be held compactly (a flow on a 257th VLAN stack).
func (t *Table) hatch(k *Key, h uint64, q compact, fromHi bool, s *Segment) bool {
	if t.emb.n >= t.cfg.MaxHalfOpen {
		t.stats.EvictedHalfOpen++
		t.closeEmbryo(t.emb.head, ReasonEvicted)
		if t.cfg.Evicted != nil {
			t.cfg.Evicted(true, false)
		}
	}
	_, em := t.emb.add(k, h, q)
	if em == nil {
		return false
	}
	t.soon(s.TS + t.timeout)
	em.flags, em.wscale = s.Flags, s.WScale
	if s.Window == 0 {
		em.bits |= embZeroWin
	}
	if s.V6 {
		em.bits |= embV6
	}
	if fromHi {
		em.bits |= embFromHi
	}
	em.seq, em.ack, em.first = s.Seq, s.Ack, s.TS
	t.tick++
	em.tick = t.tick
	t.stats.HalfOpen++
	t.stats.Active++
	t.stats.Opened++
	if s.Flags&(SYN|ACK) != SYN {
		t.stats.Midstream++ // as open counts it
	}
	return true
}

// promote turns embryo i (key hash h) into a Conn, replaying its packets,
// and forgets the embryo. A transient Conn is for closing at once.
func (t *Table) promote(i int32, h uint64, transient bool) *Conn {
	em := t.emb.at(i)
	k := t.emb.key(em)
	var s Segment
	em.segment(&s, &k)
	fromHi, reps, last := em.fromHi(), em.reps, em.last()
	t.emb.remove(i, h)
	t.recheck()
	t.stats.HalfOpen--
	how := openPromoted
	if transient {
		how = openTransient
	}
	c := t.open(k, h, fromHi, &s, how)
	if c == nil { // cannot happen: hatch takes only what open accepts
		return nil
	}
	d := FromClient
	if fromHi != c.clientIsHi {
		d = FromServer
	}
	t.process(c, d, &s)
	s.TS = last
	for ; reps > 0; reps-- {
		t.process(c, d, &s)
	}
	c.last = last
	return c
}

// closeEmbryo replays embryo i into a transient Conn and closes it with r,
// so that the Handler sees every attempt; or, for a Handler that ignores
// them (HalfOpenIgnorer), only counts it as that close would.
func (t *Table) closeEmbryo(i int32, r Reason) {
	if t.quietHalfOpen {
		var h uint64
		if !t.emb.bulk { // a bulk removal leaves the index alone
			k := t.emb.key(t.emb.at(i))
			h = k.Hash()
		}
		t.emb.remove(i, h)
		t.recheck()
		t.stats.HalfOpen--
		t.stats.Active--
		t.stats.Closed[r]++
		return
	}
	k := t.emb.key(t.emb.at(i))
	if c := t.promote(i, k.Hash(), true); c != nil {
		t.close(c, r)
	}
}

// oldest returns what was fed longest ago: the least recently fed open
// connection, or (ei >= 0) embryo. The two lists merged by tick behave
// as the one list of open connections would without embryos, also when
// timestamps go backwards.
func (t *Table) oldest() (c *Conn, ei int32) {
	c, ei = t.lru.tail, t.emb.head
	if ei >= 0 && c != nil && c.tick < t.emb.at(ei).tick {
		return c, -1
	}
	return c, ei
}
