package reassembly

import "encoding/binary"

// Half-open connections in compact form.
//
// A connection whose packets so far carry no payload and come from one side
// only (a SYN waiting for its SYN+ACK, a lone ACK or FIN picked up
// midstream) is held as an embryo: the first packet's header fields and a
// count of exact repeats of it, in a flat arena with no pointers (56 bytes), found
// through an index of its own. This is the kernel's request socket idea:
// a SYN flood, a port scan or a spray of random ACKs costs about 70 bytes
// per 4-tuple instead of a full Conn and its two directions (about 1 KiB),
// and once the arena has grown, recycled slots take new embryos without a
// fresh page.
//
// The first packet that is not an exact repeat (the peer answers, data,
// another flag) promotes the embryo: a Conn is made and the recorded
// packets are replayed into it before the new one, so everything a Handler
// sees, counters and history included, is what it would have seen had the
// Conn existed from the start. An embryo that expires, is evicted or is
// flushed is replayed the same way into a Conn that is closed at once, so
// every attempt still reaches the Handler (Zeek logs them too).

// embryo is one half-open connection: 56 bytes. Its key is held in
// compact form: IPv4 addresses as such (IPv6 ones in a side arena) and the
// VLAN stack as an index into the few stacks the Table has seen.
type embryo struct {
	lo, hi         uint32 // IPv4 addresses; for IPv6, lo indexes embryos.addr6
	loPort, hiPort uint16
	flags          Flags
	stack          uint16 // index into embryos.stacks: VLANs and tunnel
	reps           uint8  // exact repeats of the first packet absorbed since
	wscale         int8
	bits           uint8  // embV6, embFromHi, embAddr6, embZeroWin
	lastDelta      uint32 // last activity - first, ns (a repeat past 4.29 s promotes)
	seq            Seq
	ack            Seq
	// age list links (arena indices, -1 none), in feeding order; next also
	// chains free slots
	prev, next int32
	first      int64  // capture time of the first packet
	tick       uint64 // Table.tick when last fed: orders embryos and Conns as fed
}

const (
	embV6      = 1 << iota // the first packet's Segment.V6
	embFromHi              // the first packet travelled from the key's Hi
	embAddr6               // the addresses are in addr6 (not both IPv4-mapped)
	embZeroWin             // the first packet advertised a zero window
)

// last is the capture time of the embryo's latest packet.
func (em *embryo) last() int64 { return em.first + int64(em.lastDelta) }

func (em *embryo) fromHi() bool { return em.bits&embFromHi != 0 }

// maxEmbryoStacks is how many VLAN stacks (with tunnels) embryos can name;
// a flow on yet another one gets a full Conn from its first packet.
const maxEmbryoStacks = 1 << 16

// embStack is what of a key an embryo holds by index: its VLANs and
// tunnel (few distinct ones on a link, most often one).
type embStack struct {
	vlans  VLANs
	tunnel uint32
}

// same is ==, without the compiler's call for the array.
func (a *embStack) same(b *embStack) bool {
	v, w := &a.vlans, &b.vlans
	return v.N == w.N && a.tunnel == b.tunnel &&
		v.IDs[0] == w.IDs[0] && v.IDs[1] == w.IDs[1] && v.IDs[2] == w.IDs[2] && v.IDs[3] == w.IDs[3]
}

// embryoChunk is how many embryos are allocated at once (88 KiB).
const embryoChunk = 1024

// embryoSlot is an index entry: the top 32 bits of the key's hash and the
// embryo's arena index plus one (0: empty).
type embryoSlot struct {
	tag uint32
	ref uint32
}

// embryoBytes is what budgets count for an embryo: 56 bytes, its index
// slot (8 bytes at a load between 5/16 and 5/8: 13 to 26 bytes) and slack
// for chunk rounding. IPv6 addresses take 32 bytes more in their arena.
const embryoBytes = 96

// embryos holds the half-open connections of a Table.
type embryos struct {
	chunks []*[embryoChunk]embryo
	n      int   // embryos held
	cap    int   // slots allocated (len(chunks)*embryoChunk)
	free   int32 // free slot chain (-1 none)
	head   int32 // oldest activity
	tail   int32 // newest activity
	max    int   // most embryos held at once

	slots []embryoSlot // power-of-two length
	used  int
	limit int // grow the index past this many
	shift uint

	// bulk: every embryo is going (Table.Flush): remove leaves the index
	// alone, and clearIndex empties it at the end at once
	bulk bool

	stacks    []embStack          // what embryo.stack names
	stackIdx  map[embStack]uint16 // the same, searched once there are many
	lastStack uint16              // the last one found
	addr6     [][32]byte          // IPv6 address pairs (Lo, Hi) of embryos
	free6     []int32             // free entries of addr6
}

// compact is a key in an embryo's form, for lookups.
type compact struct {
	lo, hi         uint32
	loPort, hiPort uint16
	stack          uint16
	addr6          bool
	ok             bool // the key can be held (its VLAN stack has an index)
}

// isV4 reports whether a is IPv4-mapped, and returns the IPv4 address.
func isV4(a *[16]byte) (uint32, bool) {
	if binary.LittleEndian.Uint64(a[:8]) != 0 || binary.LittleEndian.Uint32(a[8:12]) != 0xffff0000 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(a[12:]), true
}

// compactOf returns k in compact form; with add, a VLAN stack not seen
// yet gets an index (while there is room).
func (e *embryos) compactOf(k *Key, add bool) compact {
	c := compact{loPort: k.Lo.Port, hiPort: k.Hi.Port}
	lo, ok1 := isV4(&k.Lo.Addr)
	hi, ok2 := isV4(&k.Hi.Addr)
	c.lo, c.hi, c.addr6 = lo, hi, !(ok1 && ok2)
	// floods: one stack, the last one found, compared in place (building
	// an embStack to compare cost a flood 10 instructions a packet)
	if int(e.lastStack) < len(e.stacks) {
		if l := &e.stacks[e.lastStack]; l.tunnel == k.Tunnel && l.vlans.N == k.VLANs.N &&
			l.vlans.IDs[0] == k.VLANs.IDs[0] && l.vlans.IDs[1] == k.VLANs.IDs[1] &&
			l.vlans.IDs[2] == k.VLANs.IDs[2] && l.vlans.IDs[3] == k.VLANs.IDs[3] {
			c.stack, c.ok = e.lastStack, true
			return c
		}
	}
	st := embStack{k.VLANs, k.Tunnel}
	if e.stackIdx != nil {
		i, ok := e.stackIdx[st]
		c.stack, c.ok = i, ok
	} else {
		for i := range e.stacks {
			if e.stacks[i].same(&st) {
				c.stack, c.ok = uint16(i), true
				break
			}
		}
	}
	if c.ok {
		e.lastStack = c.stack
	}
	if !c.ok && add && len(e.stacks) < maxEmbryoStacks {
		c.stack, c.ok = uint16(len(e.stacks)), true
		e.stacks = append(e.stacks, st)
		if e.stackIdx != nil {
			e.stackIdx[st] = c.stack
		} else if len(e.stacks) > 8 { // past a few, a map finds them faster
			e.stackIdx = make(map[embStack]uint16, 16)
			for i, x := range e.stacks {
				e.stackIdx[x] = uint16(i)
			}
		}
	}
	return c
}

// matches reports whether embryo em has key k (q is k in compact form).
func (e *embryos) matches(em *embryo, q *compact, k *Key) bool {
	if em.stack != q.stack || em.loPort != q.loPort || em.hiPort != q.hiPort || (em.bits&embAddr6 != 0) != q.addr6 {
		return false
	}
	if !q.addr6 {
		return em.lo == q.lo && em.hi == q.hi
	}
	a := &e.addr6[em.lo]
	return [16]byte(a[:16]) == k.Lo.Addr && [16]byte(a[16:]) == k.Hi.Addr
}

// key rebuilds embryo em's key.
func (e *embryos) key(em *embryo) Key {
	st := &e.stacks[em.stack]
	k := Key{VLANs: st.vlans, Tunnel: st.tunnel}
	k.Lo.Port, k.Hi.Port = em.loPort, em.hiPort
	if em.bits&embAddr6 != 0 {
		a := &e.addr6[em.lo]
		k.Lo.Addr, k.Hi.Addr = [16]byte(a[:16]), [16]byte(a[16:])
		return k
	}
	k.Lo.Addr[10], k.Lo.Addr[11], k.Hi.Addr[10], k.Hi.Addr[11] = 0xff, 0xff, 0xff, 0xff
	binary.LittleEndian.PutUint32(k.Lo.Addr[12:], em.lo)
	binary.LittleEndian.PutUint32(k.Hi.Addr[12:], em.hi)
	return k
}

func (e *embryos) init(max int) {
	e.max = max
	e.free, e.head, e.tail = -1, -1, -1
	e.allocIndex(slotsFor(min(max, 1024)))
}

// The half-open index fills to 3/4 before it doubles, where the
// connection index stops at 5/8: its slots are 8 bytes, so a probe run at
// that load stays within a cache line or two, and a flood that fills the
// half-open share (699,050 embryos under the default budget) needs 1M
// slots, not 2M: 8 MB less to fault in and to miss in.
const (
	embryoLoadNum = 3
	embryoLoadDen = 4
)

func (e *embryos) allocIndex(l int) {
	e.slots = make([]embryoSlot, l)
	e.limit = l * embryoLoadNum / embryoLoadDen
	e.shift = 64
	for ; l > 1; l >>= 1 {
		e.shift--
	}
	e.used = 0
}

// at returns embryo i (i >= 0). The index is made unsigned and the chunk an
// array so that it compiles to a shift and a mask with one bounds check:
// it runs several times a packet in a flood (cachegrind: a tenth of a SYN
// flood's instructions with signed division and two checks).
func (e *embryos) at(i int32) *embryo {
	u := uint32(i)
	return &e.chunks[u/embryoChunk][u%embryoChunk]
}

func (e *embryos) home(tag uint32) uint64 { return (uint64(tag) * fibMul) >> e.shift }

// lookup returns the index of the embryo with key k (hash h), or -1, and
// k in compact form for add (not ok when its VLAN stack has no index yet).
func (e *embryos) lookup(k *Key, h uint64) (int32, compact) {
	if e.n == 0 {
		return -1, compact{}
	}
	q := e.compactOf(k, false)
	if !q.ok {
		return -1, q
	}
	tag := uint32(h >> 32)
	mask := uint64(len(e.slots) - 1)
	for i := e.home(tag); ; i = (i + 1) & mask {
		s := e.slots[i]
		if s.ref == 0 {
			return -1, q
		}
		if s.tag == tag && e.matches(e.at(int32(s.ref-1)), &q, k) {
			return int32(s.ref - 1), q
		}
	}
}

// add returns a fresh embryo slot for key k (hash h), not held yet, linked
// as the newest; nil when k cannot be held (too many VLAN stacks). q is k
// in compact form if lookup gave it (else it is made here). The caller
// fills in the rest.
func (e *embryos) add(k *Key, h uint64, q compact) (int32, *embryo) {
	if !q.ok {
		if q = e.compactOf(k, true); !q.ok {
			return -1, nil
		}
	}
	i := e.free
	if i >= 0 {
		e.free = e.at(i).next
	} else {
		if e.n == e.cap {
			e.chunks = append(e.chunks, new([embryoChunk]embryo))
			e.cap += embryoChunk
		}
		i = int32(e.n) // no free slot: the first n are all held
	}
	em := e.at(i)
	*em = embryo{lo: q.lo, hi: q.hi, loPort: q.loPort, hiPort: q.hiPort, stack: q.stack, prev: e.tail, next: -1}
	if q.addr6 {
		em.bits |= embAddr6
		em.lo = e.put6(k)
	}
	if e.tail >= 0 {
		e.at(e.tail).next = i
	} else {
		e.head = i
	}
	e.tail = i
	e.n++
	if e.used >= e.limit {
		e.growIndex()
	}
	e.place(uint32(h>>32), uint32(i)+1)
	e.used++
	return i, em
}

func (e *embryos) place(tag, ref uint32) {
	mask := uint64(len(e.slots) - 1)
	j := e.home(tag)
	for e.slots[j].ref != 0 {
		j = (j + 1) & mask
	}
	e.slots[j] = embryoSlot{tag, ref}
}

func (e *embryos) growIndex() {
	old, used := e.slots, e.used
	e.allocIndex(2 * len(old))
	for _, s := range old {
		if s.ref != 0 {
			e.place(s.tag, s.ref)
		}
	}
	e.used = used
}

// touch makes embryo i the newest.
func (e *embryos) touch(i int32) {
	if e.tail == i {
		return
	}
	e.unlink(i)
	em := e.at(i)
	em.prev, em.next = e.tail, -1
	e.at(e.tail).next = i
	e.tail = i
}

func (e *embryos) unlink(i int32) {
	em := e.at(i)
	if em.prev >= 0 {
		e.at(em.prev).next = em.next
	} else {
		e.head = em.next
	}
	if em.next >= 0 {
		e.at(em.next).prev = em.prev
	} else {
		e.tail = em.prev
	}
}

// remove forgets embryo i (its key's hash is h) and recycles its slot.
func (e *embryos) remove(i int32, h uint64) {
	e.unlink(i)
	e.n--
	em := e.at(i)
	if em.bits&embAddr6 != 0 {
		e.free6 = append(e.free6, int32(em.lo))
	}
	em.next = e.free
	e.free = i
	if e.bulk {
		return
	}
	// backward-shift deletion, as index.remove
	tag, ref := uint32(h>>32), uint32(i)+1
	mask := uint64(len(e.slots) - 1)
	j := e.home(tag)
	for e.slots[j].ref != ref {
		j = (j + 1) & mask
	}
	e.used--
	for k := (j + 1) & mask; ; k = (k + 1) & mask {
		s := e.slots[k]
		if s.ref == 0 {
			break
		}
		if (k-e.home(s.tag))&mask >= (k-j)&mask {
			e.slots[j] = s
			j = k
		}
	}
	e.slots[j] = embryoSlot{}
}

// put6 stores k's addresses in addr6 and returns their index.
func (e *embryos) put6(k *Key) uint32 {
	var a [32]byte
	copy(a[:16], k.Lo.Addr[:])
	copy(a[16:], k.Hi.Addr[:])
	if n := len(e.free6); n > 0 {
		i := e.free6[n-1]
		e.free6 = e.free6[:n-1]
		e.addr6[i] = a
		return uint32(i)
	}
	e.addr6 = append(e.addr6, a)
	return uint32(len(e.addr6) - 1)
}

// reset forgets every embryo at once, keeping the arena, the index's
// size and the VLAN stacks named: slots are taken again from the first,
// as after init.
func (e *embryos) reset() {
	e.n, e.free, e.head, e.tail = 0, -1, -1, -1
	e.addr6, e.free6 = e.addr6[:0], e.free6[:0]
	e.clearIndex()
}

// clearIndex empties the index after a bulk removal.
func (e *embryos) clearIndex() {
	clear(e.slots)
	e.used = 0
}

// repeats reports whether s (from the Hi side when fromHi) is an exact
// repeat of embryo em's first packet: same side, flags, numbers and window,
// no payload. Replaying a repeat changes nothing but counters, history and
// the last-activity time, which a promotion reproduces.
func (em *embryo) repeats(s *Segment, fromHi bool) bool {
	return fromHi == em.fromHi() && s.Flags == em.flags && s.Seq == em.seq &&
		s.Ack == em.ack && (s.Window == 0) == (em.bits&embZeroWin != 0) && s.WScale == em.wscale &&
		em.reps < ^uint8(0) && (s.TS <= em.last() || s.TS-em.first <= int64(^uint32(0)))
}

// segment rebuilds the first packet of embryo em, whose key is k (without
// its VLANs when the Table ignores them: the key has none then, and
// nothing else reads them).
func (em *embryo) segment(s *Segment, k *Key) {
	*s = Segment{TS: em.first, V6: em.bits&embV6 != 0, VLANs: k.VLANs, Tunnel: k.Tunnel, Seq: em.seq, Ack: em.ack,
		Flags: em.flags, Window: 1, WScale: em.wscale}
	if em.bits&embZeroWin != 0 {
		s.Window = 0 // only its being zero matters (DirStats.ZeroWin)
	}
	src, dst := k.Lo, k.Hi
	if em.fromHi() {
		src, dst = dst, src
	}
	s.Src, s.SrcPort, s.Dst, s.DstPort = src.Addr, src.Port, dst.Addr, dst.Port
}

// embryoFits reports whether s may start an embryo: no payload and not a
// RST (a RST for an unknown flow opens nothing).
func embryoFits(s *Segment) bool {
	return len(s.Payload) == 0 && s.Truncated == 0 && s.Flags&RST == 0
}
