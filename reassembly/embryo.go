package reassembly

// Half-open connections in compact form.
//
// A connection whose packets so far carry no payload and come from one side
// only (a SYN waiting for its SYN+ACK, a lone ACK or FIN picked up
// midstream) is held as an embryo: the first packet's header fields and a
// count of exact repeats of it, in a flat arena with no pointers, found
// through an index of its own. This is the kernel's request socket idea:
// a SYN flood, a port scan or a spray of random ACKs costs about 110 bytes
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

// embryo is one half-open connection: 88 bytes.
type embryo struct {
	key    Key
	flags  Flags
	window uint16
	reps   uint16 // exact repeats of the first packet absorbed since
	wscale int8
	v6     bool
	fromHi bool // the first packet travelled from key.Hi
	seq    Seq
	ack    Seq
	// age list links (arena indices, -1 none), oldest activity first; next
	// also chains free slots
	prev, next int32
	first      int64 // capture time of the first packet
	last       int64 // of the latest one
}

// embryoChunk is how many embryos are allocated at once (88 KiB).
const embryoChunk = 1024

// embryoSlot is an index entry: the top 32 bits of the key's hash and the
// embryo's arena index plus one (0: empty).
type embryoSlot struct {
	tag uint32
	ref uint32
}

// EmbryoBytes is the memory an embryo costs at the index's highest load
// (5/8) including its index slot; at its lowest (just after the index
// doubled) it costs about 26 bytes more. Budgets are computed with 128.
const embryoBytes = 128

// embryos holds the half-open connections of a Table.
type embryos struct {
	chunks [][]embryo
	n      int   // embryos held
	cap    int   // slots allocated (len(chunks)*embryoChunk)
	free   int32 // free slot chain (-1 none)
	head   int32 // oldest activity
	tail   int32 // newest activity
	max    int   // most embryos held at once

	slots []embryoSlot // power-of-two length
	used  int
	shift uint
}

func (e *embryos) init(max int) {
	e.max = max
	e.free, e.head, e.tail = -1, -1, -1
	e.allocIndex(slotsFor(min(max, 1024)))
}

func (e *embryos) allocIndex(l int) {
	e.slots = make([]embryoSlot, l)
	e.shift = 64
	for ; l > 1; l >>= 1 {
		e.shift--
	}
	e.used = 0
}

func (e *embryos) at(i int32) *embryo { return &e.chunks[i/embryoChunk][i%embryoChunk] }

func (e *embryos) home(tag uint32) uint64 { return (uint64(tag) * fibMul) >> e.shift }

// get returns the index of the embryo with key k (hash h), or -1.
func (e *embryos) get(k *Key, h uint64) int32 {
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
		if s.tag == tag && e.at(int32(s.ref-1)).key == *k {
			return int32(s.ref - 1)
		}
	}
}

// add returns a fresh embryo slot for key k (hash h), not held yet, linked
// as the newest. The caller fills in the rest.
func (e *embryos) add(k *Key, h uint64) (int32, *embryo) {
	i := e.free
	if i >= 0 {
		e.free = e.at(i).next
	} else {
		if e.n == e.cap {
			e.chunks = append(e.chunks, make([]embryo, embryoChunk))
			e.cap += embryoChunk
		}
		i = int32(e.n) // no free slot: the first n are all held
	}
	em := e.at(i)
	*em = embryo{key: *k, prev: e.tail, next: -1}
	if e.tail >= 0 {
		e.at(e.tail).next = i
	} else {
		e.head = i
	}
	e.tail = i
	e.n++
	if e.used >= len(e.slots)*indexLoadNum/indexLoadDen {
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
	em.next = e.free
	e.free = i
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

// repeats reports whether s (from the Hi side when fromHi) is an exact
// repeat of embryo em's first packet: same side, flags, numbers and window,
// no payload. Replaying a repeat changes nothing but counters, history and
// the last-activity time, which a promotion reproduces.
func (em *embryo) repeats(s *Segment, fromHi bool) bool {
	return fromHi == em.fromHi && s.Flags == em.flags && s.Seq == em.seq &&
		s.Ack == em.ack && s.Window == em.window && s.WScale == em.wscale &&
		em.reps < ^uint16(0)
}

// segment rebuilds the embryo's first packet (without its VLANs when the
// Table ignores them: the key has none then, and nothing else reads them).
func (em *embryo) segment(s *Segment) {
	*s = Segment{TS: em.first, V6: em.v6, VLANs: em.key.VLANs, Seq: em.seq, Ack: em.ack,
		Flags: em.flags, Window: em.window, WScale: em.wscale}
	src, dst := em.key.Lo, em.key.Hi
	if em.fromHi {
		src, dst = dst, src
	}
	s.Src, s.SrcPort, s.Dst, s.DstPort = src.Addr, src.Port, dst.Addr, dst.Port
}

// embryoFits reports whether s may start an embryo: no payload and not a
// RST (a RST for an unknown flow opens nothing).
func embryoFits(s *Segment) bool {
	return len(s.Payload) == 0 && s.Truncated == 0 && s.Flags&RST == 0
}
