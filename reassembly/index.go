package reassembly

// index maps flow keys to connections: an open-addressing hash table with
// linear probing and backward-shift deletion (no tombstones). Each slot
// holds the key's 64-bit hash next to the *Conn, so a lookup reads one
// slot of a flat array and compares the full Key (in the Conn) only when
// the hashes match. The caller passes the hash (Key.Hash) so that it is
// computed once per packet, and so that tests can force collisions.
type index struct {
	slots []islot // len is a power of two
	n     int     // occupied slots
	max   int     // grow when n would exceed this
	shift uint    // 64 - log2(len(slots))
}

type islot struct {
	hash uint64
	c    *Conn // nil: empty
}

// Load factor: grow by doubling once more than indexLoadNum/indexLoadDen
// of the slots are taken. BenchmarkIndex (1 MiB and 4 MiB of slots, ns per
// lookup at load 1/2, 5/8, 3/4, 7/8): hits 27/33/36/41 and 45/45/52/69,
// misses 12/13/25/55 and 15/20/25/55, remove+insert 90/124/185/371 and
// 193/303/443/624. 5/8 costs about what 1/2 does except for removals and
// needs half the slots for a third of the entry counts; past 3/4 misses
// (every new flow) and removals (every closed one) grow fast.
const (
	indexLoadNum = 5
	indexLoadDen = 8
	indexMinLen  = 64
)

// fibMul spreads a hash before its top bits pick the home slot: Key.Hash is
// also what assigns flows to workers (hash % workers), so its low bits are
// constant within one worker's Table and must not choose the slot alone.
const fibMul = 0x9e3779b97f4a7c15

// init sizes the index for about hint entries and never more than limit
// (the most entries it will hold): it grows on demand up to that.
func (x *index) init(hint, limit int) {
	if hint > limit {
		hint = limit
	}
	x.alloc(slotsFor(hint))
}

// slotsFor returns the table length that holds n entries within the load
// factor.
func slotsFor(n int) int {
	l := indexMinLen
	for l*indexLoadNum/indexLoadDen < n {
		l *= 2
	}
	return l
}

func (x *index) alloc(l int) {
	x.slots = make([]islot, l)
	x.max = l * indexLoadNum / indexLoadDen
	x.shift = 64
	for ; l > 1; l >>= 1 {
		x.shift--
	}
	x.n = 0
}

func (x *index) home(h uint64) uint64 { return (h * fibMul) >> x.shift }

// get returns the connection with key k (hash h), or nil.
func (x *index) get(k *Key, h uint64) *Conn {
	mask := uint64(len(x.slots) - 1)
	for i := x.home(h); ; i = (i + 1) & mask {
		s := &x.slots[i&mask]
		if s.c == nil {
			return nil
		}
		if s.hash == h && (s.c.key.equal(k) || s.c.aliased && s.c.alias.equal(k)) {
			return s.c
		}
	}
}

// insert adds c, whose key (hash h) is not in the index.
func (x *index) insert(c *Conn, h uint64) {
	if x.n >= x.max {
		x.grow()
	}
	x.place(c, h)
	x.n++
}

func (x *index) place(c *Conn, h uint64) {
	mask := uint64(len(x.slots) - 1)
	i := x.home(h)
	for x.slots[i&mask].c != nil {
		i = (i + 1) & mask
	}
	x.slots[i&mask] = islot{h, c}
}

// grow doubles the table, moving the entries by their stored hashes (the
// Conns are not touched).
func (x *index) grow() {
	old, n := x.slots, x.n
	x.alloc(2 * len(old))
	for _, s := range old {
		if s.c != nil {
			x.place(s.c, s.hash)
		}
	}
	x.n = n
}

// remove deletes c's entry under hash h (a Conn joined across VLANs has
// two) if it is in the index, shifting the entries
// that follow it in its probe run back so that no tombstone is left.
func (x *index) remove(c *Conn, h uint64) {
	mask := uint64(len(x.slots) - 1)
	i := x.home(h)
	for {
		s := &x.slots[i&mask]
		if s.c == c && s.hash == h {
			break
		}
		if s.c == nil {
			return
		}
		i = (i + 1) & mask
	}
	x.n--
	// backward shift: an entry after the hole moves into it unless its
	// home lies cyclically in (hole, entry]
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j&mask]
		if s.c == nil {
			break
		}
		if (j-x.home(s.hash))&mask >= (j-i)&mask {
			x.slots[i&mask] = s
			i = j
		}
	}
	x.slots[i&mask] = islot{}
}

// len returns the number of entries.
func (x *index) len() int { return x.n }
