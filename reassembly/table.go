package reassembly

import "math"

// noLimit is an offset no stream reaches.
const noLimit = ^uint64(0)

// maxAhead is how far past the delivery point a segment may start and still
// be believed (1 GiB: holes of hundreds of MB happen in truncated captures,
// 2 GiB is where sequence numbers stop being comparable).
const maxAhead = 1 << 30

// Table reassembles the connections of one worker. It is not safe for
// concurrent use: each worker owns one Table and feeds it from one
// goroutine, so the packet path takes no locks. A Handler must not call
// back into its Table.
type Table struct {
	cfg   Config
	h     Handler
	conns index
	emb   embryos // half-open connections in compact form (embryo.go)
	// the Handler does not want connections closed half-open (HalfOpenIgnorer)
	quietHalfOpen bool
	// a key with VLANs was seen: joining directions across VLAN stacks
	// may be needed (vlanjoin.go)
	sawVLAN bool

	// the last connection looked up: consecutive packets of one flow are
	// the common case and skip the index.
	cacheConn *Conn

	lru       list // open connections, most recently active first
	linger    list // closed connections still absorbing late packets
	buffering list // connections holding buffered bytes, oldest first
	resets    list // connections with a pending RST, oldest first

	leases leases // connections holding leased payloads, by lease

	free []*Conn
	slab []Conn // connections are allocated in slabs, recycled through free
	// their directions likewise, recycled at close (before the linger)
	hfree []*[2]half
	hslab [][2]half
	pool  pool

	now int64
	// nextCheck: expire has nothing to close before this capture time. It
	// is the nearest deadline of what expire looks at first (the oldest
	// open connection and embryo, the first pending RST, the first
	// lingering connection) when expire last ran. A new pending RST or
	// embryo lowers it to its deadline (soon); a new first element of a
	// list voids it (recheck): the first was touched or removed, and with
	// timestamps that go back the next one can be due sooner. (A new open
	// connection is the first only in an empty list, and then Feed's
	// touch of the tail voids it; lingering connections are added in
	// clock order, so the next one is never due sooner.) Feed and Advance
	// skip expire below it: looking cost 67 instructions a packet on real
	// traffic, where almost no packet has anything to expire.
	nextCheck int64
	tick      uint64 // counts packets fed to open connections and embryos: their order
	timeout   int64
	lingerNs  int64
	graceNs   int64

	stats Stats
}

// NewTable returns an empty Table that hands streams to h.
func NewTable(cfg Config, h Handler) *Table {
	cfg = cfg.withDefaults()
	t := &Table{
		cfg:      cfg,
		h:        h,
		timeout:  int64(cfg.IdleTimeout),
		lingerNs: int64(cfg.Linger),
		graceNs:  int64(cfg.ResetGrace),
		// nothing to expire yet, but the first clock advance computes it
		nextCheck: math.MinInt64,
	}
	t.conns.init(1024, cfg.MaxConns)
	t.emb.init(cfg.MaxHalfOpen)
	t.lru.idx, t.linger.idx, t.buffering.idx, t.resets.idx = lkMain, lkMain, lkBuf, lkRST
	t.pool.allocs = &t.stats.BufAllocs
	t.pool.oversize = &t.stats.OversizeSegs
	t.pool.maxFree = cfg.MaxBuffer
	if x, ok := h.(HalfOpenIgnorer); ok && x.IgnoresHalfOpen() {
		t.quietHalfOpen = true
	}
	return t
}

// Stats returns the Table's counters.
func (t *Table) Stats() Stats { return t.stats }

// Len returns the number of open connections, half-open ones included.
func (t *Table) Len() int { return t.lru.n + t.emb.n }

// Now returns the Table's capture clock (Unix ns): the latest timestamp
// fed or advanced to.
func (t *Table) Now() int64 { return t.now }

// Advance moves the capture clock to now (Unix ns) and closes what expired
// by then. Feed advances the clock itself; call Advance when the capture is
// quiet (a live worker with no packets) so idle connections still expire.
func (t *Table) Advance(now int64) {
	if now > t.now {
		t.now = now
		if now >= t.nextCheck {
			t.expire()
		}
	}
}

// Flush closes every open connection with reason r (ReasonFlush at the end
// of a file, ReasonShutdown when a live capture stops), delivering what is
// buffered, and forgets closed ones. The Table stays usable.
func (t *Table) Flush(r Reason) {
	if n := t.emb.n; n > 0 && t.quietHalfOpen {
		// no one sees a half-open connection close: drop them all at
		// once, counted as closing one by one would (closing the 700,000
		// a SYN flood leaves one at a time was a tenth of its
		// instructions)
		t.emb.reset()
		t.stats.HalfOpen -= uint64(n)
		t.stats.Active -= uint64(n)
		t.stats.Closed[r] += uint64(n)
		t.recheck()
	}
	t.emb.bulk = true
	for {
		c, ei := t.oldest()
		switch {
		case ei >= 0:
			t.closeEmbryo(ei, r)
		case c == nil:
			goto closed
		case c.rstPending:
			t.close(c, ReasonRST)
		default:
			t.close(c, r)
		}
	}
closed:
	t.emb.bulk = false
	if t.emb.used > 0 { // bulk removals left their entries
		t.emb.clearIndex()
	}
	for c := t.linger.head; c != nil; c = t.linger.head {
		t.linger.remove(c)
		t.drop(c)
	}
	t.leases.reset() // nothing is buffered any more
}

func (t *Table) expire() {
	now := t.now
	// A connection closes at its deadline, whatever packet (of this
	// worker's flows) moved the clock past it: what its close delivers is
	// stamped with the deadline, the same for any number of workers.
	for c := t.resets.head; c != nil && c.rstAt+t.graceNs <= now; c = t.resets.head {
		t.closeAt(c, ReasonRST, c.rstAt+t.graceNs)
	}
	for {
		c, ei := t.oldest()
		if ei >= 0 && t.emb.at(ei).last()+t.timeout <= now {
			t.closeEmbryo(ei, ReasonTimeout)
		} else if c != nil && c.last+t.timeout <= now {
			t.closeAt(c, ReasonTimeout, c.last+t.timeout)
		} else {
			break
		}
	}
	for c := t.linger.head; c != nil && c.lingerUntil <= now; c = t.linger.head {
		t.linger.remove(c)
		t.drop(c)
	}
	t.nextCheck = t.nextDeadline()
}

// nextDeadline is the earliest deadline expire checks: what it looks at
// first in each of its lists.
func (t *Table) nextDeadline() int64 {
	next := int64(math.MaxInt64)
	if c := t.resets.head; c != nil {
		next = min(next, c.rstAt+t.graceNs)
	}
	// as expire's loop: the oldest open connection whenever there is
	// one, and the oldest embryo when it was fed before that connection
	c, ei := t.oldest()
	if ei >= 0 {
		next = min(next, t.emb.at(ei).last()+t.timeout)
	}
	if c != nil {
		next = min(next, c.last+t.timeout)
	}
	if c := t.linger.head; c != nil {
		next = min(next, c.lingerUntil)
	}
	return next
}

// soon notes a new deadline d in one of expire's lists.
func (t *Table) soon(d int64) {
	if d < t.nextCheck {
		t.nextCheck = d
	}
}

// recheck makes the next clock advance run expire: what expire looks at
// first changed (removed, or moved from the head of its list).
func (t *Table) recheck() { t.nextCheck = math.MinInt64 }

// Feed processes one segment. Nothing in s is kept after Feed returns.
func (t *Table) Feed(s *Segment) {
	t.stats.Packets++
	t.stats.Bytes += uint64(len(s.Payload))
	if s.Truncated > 0 {
		t.stats.Truncated += uint64(s.Truncated)
	}
	if s.TS > t.now {
		t.now = s.TS
		if s.TS >= t.nextCheck {
			t.expire()
		}
	}
	var k Key
	fromHi := k.set(s, t.cfg.IgnoreVLAN)
	var c *Conn
	var h uint64
	// the last connection found first: compared with its own keys, which
	// it holds while it is cached (drop clears the cache)
	if c = t.cacheConn; c != nil && c.key.equal(&k) {
		h = c.hash
	} else if c != nil && c.aliased && c.alias.equal(&k) {
		h = c.aliasHash // found under the other direction's VLANs
	} else {
		h = k.Hash()
		if c = t.conns.get(&k, h); c != nil {
			t.cacheConn = c
		}
	}
	var q compact // k as embryos hold it, when looked up
	if c == nil && t.emb.n > 0 {
		var i int32
		if i, q = t.emb.lookup(&k, h); i >= 0 {
			if em := t.emb.at(i); embryoFits(s) && em.repeats(s, fromHi) {
				em.reps++
				if s.TS > em.last() {
					em.lastDelta = uint32(s.TS - em.first)
				}
				t.tick++
				em.tick = t.tick
				if i == t.emb.head {
					t.recheck()
				}
				t.emb.touch(i)
				return
			}
			c = t.promote(i, h, false)
		}
	}
	pureSYN := s.Flags&(SYN|ACK|RST) == SYN
	if c != nil && c.state == StateClosed {
		// A closed 4-tuple lingers to absorb its last packets; only a new
		// SYN (a new ISN) starts a new connection on it.
		if !pureSYN || (c.lingerISNKnown && c.lingerISN == s.Seq && fromHi == c.clientIsHi) {
			t.stats.Ghosts++
			return
		}
		t.linger.remove(c)
		t.drop(c)
		c = nil
	}
	if c != nil && pureSYN && fromHi == c.clientIsHi {
		cl := &c.half[FromClient]
		if (cl.isnKnown && cl.isn != s.Seq) || (!cl.isnKnown && !cl.empty()) {
			// port reuse without a close we saw: the old connection ends
			t.close(c, ReasonReused) // not lingering: dropped already
			c = nil
		}
	}
	if c == nil && !t.cfg.IgnoreVLAN && !t.cfg.NoVLANJoin {
		c = t.join(&k, h, fromHi, s)
	}
	if c == nil {
		if embryoFits(s) && (s.Flags&SYN != 0 || !t.cfg.NoMidstream) && !t.cfg.noHalfOpen {
			if t.hatch(&k, h, q, fromHi, s) {
				return
			}
		}
		if c = t.open(k, h, fromHi, s, openNew); c == nil {
			return
		}
	}
	if s.TS > c.last {
		c.last = s.TS
	}
	t.tick++
	c.tick = t.tick
	if c == t.lru.tail {
		t.recheck()
	}
	t.lru.touch(c) // the LRU's links are the main ones (New)
	d := FromClient
	if fromHi != c.clientIsHi {
		d = FromServer
	}
	t.process(c, d, s)
}

// serverIsDst guesses the roles of a connection picked up without a SYN:
// the side on a well-known port, else the lower port, is the server.
func serverIsDst(sport, dport uint16) bool {
	switch {
	case dport < 1024 && sport >= 1024:
		return true
	case sport < 1024 && dport >= 1024:
		return false
	}
	return dport <= sport
}

// How open makes a Conn: for a new flow, for an embryo being promoted
// (counted already when it hatched), or for an embryo replayed only to be
// closed (transient: not indexed, evicts nothing).
const (
	openNew = iota
	openPromoted
	openTransient
)

// open makes the Conn for a segment of an unknown flow.
func (t *Table) open(k Key, h uint64, fromHi bool, s *Segment, how int) *Conn {
	f := s.Flags
	if f&RST != 0 {
		// a RST for a connection we do not know: nothing to close
		t.stats.IgnoredRST++
		return nil
	}
	syn := f&SYN != 0
	if !syn && t.cfg.NoMidstream {
		t.stats.NoSYN++
		return nil
	}
	if how != openTransient {
		t.admit()
	}
	c := t.newConn()
	c.key, c.hash = k, h
	senderIsClient := true
	switch {
	case syn && f&ACK == 0:
	case syn:
		senderIsClient = false
		c.midstream = true
	default:
		senderIsClient = serverIsDst(s.SrcPort, s.DstPort)
		c.midstream = true
	}
	c.clientIsHi = fromHi == senderIsClient
	src, dst := Endpoint{s.Src, s.SrcPort}, Endpoint{s.Dst, s.DstPort}
	if senderIsClient {
		c.ep[FromClient], c.ep[FromServer] = src, dst
	} else {
		c.ep[FromClient], c.ep[FromServer] = dst, src
	}
	c.v6 = s.V6
	c.start, c.last = s.TS, s.TS
	if syn && f&ACK == 0 {
		c.state = StateSynSent
	} else {
		c.state = StateEstablished
	}
	c.id = connID(h^vlanMix(&k.VLANs), s.TS, s.Seq)
	if how != openTransient {
		t.conns.insert(c, h)
		t.cacheConn = c
		t.lru.pushFront(c)
	} else {
		c.transient = true
	}
	if how == openNew {
		t.stats.Opened++
		t.stats.Active++
		if c.midstream {
			t.stats.Midstream++
		}
	}
	t.h.Opened(c)
	return c
}

// vlanMix spreads a VLAN stack over 64 bits, for connection IDs (Key.Hash
// leaves VLANs out).
func vlanMix(v *VLANs) uint64 {
	return (uint64(v.IDs[0]) | uint64(v.IDs[1])<<16 | uint64(v.IDs[2])<<32 | uint64(v.IDs[3])<<48) * 0xc4ceb9fe1a85ec53
}

// connID mixes the key's hash (Key.Hash, with vlanMix), the first
// timestamp and the first sequence number.
func connID(kh uint64, ts int64, seq Seq) uint64 {
	h := kh ^ uint64(ts)*0x9e3779b97f4a7c15 ^ uint64(seq)<<21
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

func (t *Table) newConn() *Conn {
	n := len(t.free)
	if n == 0 {
		// one allocation for many connections: a burst of new flows costs
		// a fraction of an allocation each, and they sit together in
		// memory. 128 of them are 48 KiB, past the 32 KiB of small
		// objects: a large object starts on a page, with no header
		// before it, so every Conn starts on a cache line (TestConnLayout)
		if len(t.slab) == 0 {
			t.slab = make([]Conn, connSlab)
		}
		c := &t.slab[0]
		t.slab = t.slab[1:]
		c.half = t.newHalves()
		return c
	}
	c := t.free[n-1]
	t.free = t.free[:n-1]
	*c = Conn{half: t.newHalves()}
	return c
}

// connSlab is how many Conns newConn allocates at once.
const connSlab = 128

// newHalves returns a zeroed pair of directions, recycled when it can be
// (keeping the capacity of their segment lists).
func (t *Table) newHalves() *[2]half {
	if n := len(t.hfree); n > 0 {
		h := t.hfree[n-1]
		t.hfree = t.hfree[:n-1]
		s0, s1 := keep(h[0].segs), keep(h[1].segs)
		*h = [2]half{}
		h[0].segs, h[1].segs = s0, s1
		return h
	}
	if len(t.hslab) == 0 {
		// a large object (past 32 KiB) starts on a page: every pair
		// starts on a cache line
		t.hslab = make([][2]half, connSlab)
	}
	h := &t.hslab[0]
	t.hslab = t.hslab[1:]
	return h
}

// keep returns segs emptied, or nil when its capacity is more than a
// recycled direction may keep (budget.go counts keptSegs).
func keep(segs []seg) []seg {
	if cap(segs) > keptSegs {
		return nil
	}
	return segs[:0]
}

// freeHalves takes back a closed connection's directions (they hold
// nothing: close delivered everything).
func (t *Table) freeHalves(c *Conn) {
	if c.half != nil {
		t.hfree = append(t.hfree, c.half)
		c.half = nil
	}
}

// drop forgets a closed connection and recycles it.
func (t *Table) drop(c *Conn) {
	t.freeHalves(c)
	if !c.transient { // a replayed embryo was never indexed
		t.conns.remove(c, c.hash)
	}
	if c.aliased {
		t.conns.remove(c, c.aliasHash)
	}
	if t.cacheConn == c {
		t.cacheConn = nil
	}
	t.free = append(t.free, c)
}

// process handles one segment of direction d of an open connection.
func (t *Table) process(c *Conn, d Dir, s *Segment) {
	if c.bypass && !c.bypassed {
		t.letGo(c)
	}
	h, p := &c.half[d&1], &c.half[(d^1)&1]
	f := s.Flags
	h.stats.Packets++
	h.stats.Bytes += uint64(len(s.Payload))
	if c.rstPending && c.rstDir == d && f&RST == 0 {
		// the RST's sender goes on talking: the RST was not real
		c.rstPending = false
		t.resets.remove(c)
		t.recheck()
		t.stats.IgnoredRST++
	}
	seq := s.Seq
	if f&SYN != 0 {
		h.stats.SYN = true
		if f&ACK != 0 {
			c.addHist(d, histH)
			if c.state == StateSynSent {
				c.state = StateEstablished
			}
			if !p.isnKnown {
				// the SYN+ACK tells the client's ISN even when its SYN
				// was not captured: a late SYN is then recognised
				p.isn, p.isnKnown = s.Ack-1, true
			}
		} else {
			c.addHist(d, histS)
		}
		if (!h.isnKnown || h.isn != seq) && h.empty() {
			// the SYN sets the stream's origin; one that contradicts an
			// origin guessed from stray packets (an injected FIN, a
			// midstream ACK) replaces it while nothing was delivered
			h.rebase(seq)
		} else if h.isnKnown && h.isn == seq {
			c.addHist(d, histT)
		}
		seq++
	}
	if f&RST != 0 {
		t.reset(c, d, s)
		return
	}
	if f&ACK != 0 && f&SYN == 0 {
		c.addHist(d, histA)
	}
	if s.Window == 0 && f&SYN == 0 {
		h.stats.ZeroWin = true
		c.addHist(d, histW)
	}
	if !h.init {
		h.init, h.next, h.nextOff = true, seq, 0
	}
	if f&ACK != 0 {
		t.ack(c, d^1, s.Ack, s.TS)
	}
	n := len(s.Payload)
	end := seq.Add(n + s.Truncated)
	if n > 0 || s.Truncated > 0 {
		c.addHist(d, histD)
		if n > 0 && !c.bypass { // bypassed: counted at the close (bypassed)
			t.insert(c, d, seq, s.Payload, s.lease(), s.TS)
		}
	}
	if !h.maxValid || h.maxEnd.LessThan(end) {
		h.maxValid, h.maxEnd = true, end
	}
	if f&FIN != 0 {
		h.stats.FIN = true
		c.addHist(d, histF)
		if !h.finSeen {
			if off, ok := h.offsetOf(end); ok {
				h.finSeen, h.finOff = true, off
			}
		}
		if c.state == StateEstablished {
			c.state = StateClosing
		}
	}
	if h.finSeen && (h.nextOff >= h.finOff || c.bypass) {
		h.done = true
	}
	if len(h.segs) > 0 {
		switch {
		case t.cfg.Delivery == Immediate:
			t.deliver(c, d, noLimit, h.gapLimit(), s.TS)
		case h.buffered >= t.cfg.OneSidedBytes && p.stats.Packets == 0:
			// (in this order: the peer's counters are a cache line this
			// packet has no other use for)
			// the peer's ACKs will never come: hand over what is contiguous
			t.deliver(c, d, noLimit, h.nextOff, s.TS)
		}
		if c.buffered > t.cfg.MaxConnBuffer || len(h.segs) > t.cfg.MaxConnSegments {
			t.force(c, d, s.TS)
		}
		if t.stats.Buffered > uint64(t.cfg.MaxBuffer) {
			t.relieve(s.TS)
		}
	}
	if c.half[0].done && c.half[1].done {
		t.close(c, ReasonFIN)
	}
}

// ack processes the peer's acknowledgement of direction pd's bytes.
func (t *Table) ack(c *Conn, pd Dir, a Seq, ts int64) {
	p := &c.half[pd&1]
	if !p.init {
		// nothing seen from pd yet: the ACK tells where its stream is
		p.init, p.next, p.nextOff = true, a, 0
		p.ackValid, p.ack, p.gapAck = true, a, a
		return
	}
	if p.ackValid && !p.ack.LessThan(a) {
		return
	}
	if c.bypass { // nothing to deliver: ACKed bytes were not kept
		p.ackValid, p.ack = true, a
		return
	}
	if p.ackValid {
		p.gapAck = p.ack
	} else {
		p.gapAck = p.next
	}
	p.ackValid, p.ack = true, a
	if lim := p.ackedOff(); lim > p.nextOff {
		t.deliver(c, pd, lim, p.gapLimit(), ts)
	}
}

// reset handles a RST from direction d.
func (t *Table) reset(c *Conn, d Dir, s *Segment) {
	h, p := &c.half[d&1], &c.half[(d^1)&1]
	h.stats.RST = true
	c.addHist(d, histR)
	t.stats.RSTPayload += uint64(len(s.Payload))
	var valid bool
	if h.init {
		// in window: from the delivery point to a little past the
		// highest byte the sender is known to have sent
		hi := h.next
		if h.maxValid && hi.LessThan(h.maxEnd) {
			hi = h.maxEnd
		}
		valid = !s.Seq.LessThan(h.next) && s.Seq.Diff(hi) <= 1<<20
	} else {
		// the sender never spoke: only a RST that ACKs exactly what the
		// peer sent (the answer to a SYN) is believable
		valid = s.Flags&ACK != 0 && p.init && !s.Ack.LessThan(p.next) &&
			(!p.maxValid || !p.maxEnd.LessThan(s.Ack))
	}
	if !valid {
		t.stats.IgnoredRST++
		return
	}
	if !h.init {
		h.init, h.next, h.nextOff = true, s.Seq, 0
	}
	if s.Flags&ACK != 0 {
		t.ack(c, d^1, s.Ack, s.TS)
	}
	if !c.rstPending {
		c.rstPending, c.rstAt = true, s.TS
		t.resets.pushBack(c)
		t.soon(c.rstAt + t.graceNs)
	}
	c.rstDir = d
}

// letGo releases what a bypassed connection holds, undelivered.
func (t *Table) letGo(c *Conn) {
	for d := range c.half {
		h := &c.half[d&1]
		for len(h.segs) > 0 {
			t.popSeg(c, h)
		}
	}
	c.bypassed = true
}

// bypassed counts, at the close of a bypassed connection, each
// direction's bytes past its delivery point up to the furthest sequence
// number seen: the stream's extent, whatever the capture cut or
// retransmitted, so that Delivered + Missed + Bypassed is the stream's
// length live (packets cut to their headers) as with -r.
func (t *Table) bypassed(c *Conn) {
	for d := range c.half {
		h := &c.half[d&1]
		if !h.maxValid {
			continue
		}
		if ext := h.seqOff(h.maxEnd); ext > int64(h.nextOff) {
			b := uint64(ext) - h.nextOff
			h.stats.Bypassed = b
			t.stats.BypassedBytes += b
		}
	}
}

// force delivers everything direction d holds, unACKed, holes as gaps.
func (t *Table) force(c *Conn, d Dir, ts int64) {
	t.stats.Forced++
	before := c.half[d].stats.Delivered
	t.drain(c, d, ts)
	t.stats.ForcedBytes += c.half[d].stats.Delivered - before
}

// relieve forces the connections that have buffered longest until the
// Table is within MaxBuffer again.
func (t *Table) relieve(ts int64) {
	for t.stats.Buffered > uint64(t.cfg.MaxBuffer) {
		c := t.buffering.head
		if c == nil {
			return
		}
		t.force(c, FromClient, ts)
		t.force(c, FromServer, ts)
	}
}

// drain delivers everything direction d holds: up to the peer's ACK as
// usual (holes the ACK covers become gaps), then the rest flagged Unacked
// with holes between buffered pieces reported as gaps.
func (t *Table) drain(c *Conn, d Dir, ts int64) {
	h := &c.half[d&1]
	if a := h.ackedOff(); a > h.nextOff {
		t.deliver(c, d, a, a, ts)
	}
	t.deliver(c, d, noLimit, noLimit, ts)
}

// close ends a connection: whatever is buffered is delivered (bytes the
// peer never ACKed flagged Unacked, holes as gaps), then Handler.Closed.
func (t *Table) close(c *Conn, r Reason) { t.closeAt(c, r, t.now) }

// closeAt is close with what is delivered stamped ts.
func (t *Table) closeAt(c *Conn, r Reason, ts int64) {
	if c.state == StateClosed {
		return
	}
	if c.bypass {
		t.letGo(c)
		t.bypassed(c)
	} else {
		t.drain(c, FromClient, ts)
		t.drain(c, FromServer, ts)
	}
	c.state, c.reason = StateClosed, r
	t.stats.Closed[r]++
	t.stats.Active--
	if c.rstPending {
		c.rstPending = false
		t.resets.remove(c)
	}
	t.lru.remove(c)
	t.recheck()
	t.h.Closed(c, r)
	c.Ctx = nil
	if r == ReasonFIN || r == ReasonRST {
		c.lingerUntil = t.now + t.lingerNs
		cl := &c.half[FromClient]
		c.lingerISN, c.lingerISNKnown = cl.isn, cl.isnKnown
		t.freeHalves(c)
		t.linger.pushBack(c)
		return
	}
	t.drop(c)
}
