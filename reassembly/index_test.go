package reassembly

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// fibInv is the inverse of fibMul modulo 2^64: hashAt uses it to build a
// hash whose home is a chosen slot.
var fibInv = func() uint64 {
	x := uint64(fibMul) // Newton: each step doubles the correct low bits
	for i := 0; i < 6; i++ {
		x *= 2 - fibMul*x
	}
	return x
}()

// hashAt returns a hash whose home slot is slot in x, with tag in the low
// bits below the slot so that different tags give different hashes.
func hashAt(x *index, slot, tag uint64) uint64 {
	return ((slot << x.shift) | tag&(1<<x.shift-1)) * fibInv
}

func idxKey(i int) Key {
	var k Key
	binary.BigEndian.PutUint32(k.Lo.Addr[12:], uint32(i))
	k.Lo.Port, k.Hi.Port = uint16(i), 80
	return k
}

// checkIndex verifies the invariants: n counts the entries, and each entry
// is found from its home without crossing an empty slot.
func checkIndex(t *testing.T, x *index) {
	t.Helper()
	mask := uint64(len(x.slots) - 1)
	n := 0
	for j, s := range x.slots {
		if s.c == nil {
			continue
		}
		n++
		if s.hash != s.c.hash {
			t.Fatalf("slot %d: hash %x, its conn's %x", j, s.hash, s.c.hash)
		}
		for i := x.home(s.hash); i != uint64(j); i = (i + 1) & mask {
			if x.slots[i].c == nil {
				t.Fatalf("slot %d (home %d) is cut off by the empty slot %d", j, x.home(s.hash), i)
			}
		}
	}
	if n != x.n {
		t.Fatalf("n = %d, %d entries", x.n, n)
	}
}

// TestIndexProbeRuns drives small tables through hand-made probe runs:
// collisions on one home, runs wrapping past the end, and removals that
// must shift entries back (or leave them, when their home is after the
// hole).
func TestIndexProbeRuns(t *testing.T) {
	type op struct {
		del  bool
		id   int    // connection id (key idxKey(id))
		home uint64 // its home slot
	}
	tests := []struct {
		name string
		ops  []op
		want map[int]uint64 // id -> slot after all ops
	}{
		{"collide", []op{{id: 1, home: 5}, {id: 2, home: 5}, {id: 3, home: 5}},
			map[int]uint64{1: 5, 2: 6, 3: 7}},
		{"remove head of run", []op{{id: 1, home: 5}, {id: 2, home: 5}, {id: 3, home: 5}, {del: true, id: 1, home: 5}},
			map[int]uint64{2: 5, 3: 6}},
		{"remove middle", []op{{id: 1, home: 5}, {id: 2, home: 5}, {id: 3, home: 5}, {del: true, id: 2, home: 5}},
			map[int]uint64{1: 5, 3: 6}},
		{"remove tail", []op{{id: 1, home: 5}, {id: 2, home: 5}, {id: 3, home: 5}, {del: true, id: 3, home: 5}},
			map[int]uint64{1: 5, 2: 6}},
		{"entry at its home stays", []op{{id: 1, home: 5}, {id: 2, home: 6}, {id: 3, home: 5}, {del: true, id: 1, home: 5}},
			// 3 sat in 7 behind 2 (home 6): it moves to 5, 2 stays
			map[int]uint64{2: 6, 3: 5}},
		{"entry past the hole's run stays", []op{{id: 1, home: 5}, {id: 2, home: 5}, {id: 3, home: 7}, {del: true, id: 2, home: 5}},
			map[int]uint64{1: 5, 3: 7}},
		{"wrap around", []op{{id: 1, home: 62}, {id: 2, home: 62}, {id: 3, home: 62}, {id: 4, home: 63}},
			map[int]uint64{1: 62, 2: 63, 3: 0, 4: 1}},
		{"remove across the wrap", []op{{id: 1, home: 62}, {id: 2, home: 62}, {id: 3, home: 62}, {id: 4, home: 63}, {del: true, id: 1, home: 62}},
			map[int]uint64{2: 62, 3: 63, 4: 0}},
		{"remove after the wrap", []op{{id: 1, home: 63}, {id: 2, home: 63}, {id: 3, home: 0}, {id: 4, home: 1}, {del: true, id: 2, home: 63}},
			map[int]uint64{1: 63, 3: 0, 4: 1}},
		{"home 0 entry behind wrapped run", []op{{id: 1, home: 63}, {id: 2, home: 63}, {id: 3, home: 0}, {del: true, id: 1, home: 63}},
			map[int]uint64{2: 63, 3: 0}},
		{"remove absent", []op{{id: 1, home: 5}, {del: true, id: 9, home: 5}, {del: true, id: 8, home: 40}},
			map[int]uint64{1: 5}},
		{"reinsert after remove", []op{{id: 1, home: 5}, {id: 2, home: 5}, {del: true, id: 1, home: 5}, {id: 1, home: 5}},
			map[int]uint64{2: 5, 1: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x index
			x.init(0, 1<<20)
			if len(x.slots) != indexMinLen {
				t.Fatalf("%d slots", len(x.slots))
			}
			conns := map[int]*Conn{}
			for _, o := range tc.ops {
				h := hashAt(&x, o.home, uint64(o.id))
				if o.del {
					c := conns[o.id]
					if c == nil {
						c = &Conn{key: idxKey(o.id), hash: h}
					}
					x.remove(c, h)
					delete(conns, o.id)
				} else {
					c := &Conn{key: idxKey(o.id), hash: h}
					conns[o.id] = c
					x.insert(c, h)
				}
				checkIndex(t, &x)
			}
			if x.len() != len(tc.want) {
				t.Fatalf("len %d, want %d", x.len(), len(tc.want))
			}
			for id, slot := range tc.want {
				c := conns[id]
				if x.slots[slot].c != c {
					t.Errorf("id %d not in slot %d", id, slot)
				}
				k := idxKey(id)
				if got := x.get(&k, c.hash); got != c {
					t.Errorf("get(%d) = %p, want %p", id, got, c)
				}
			}
		})
	}
}

// TestIndexSameHash: keys that differ but share a hash are told apart by
// the key itself.
func TestIndexSameHash(t *testing.T) {
	var x index
	x.init(0, 1<<20)
	const h = 0x1234
	var cs []*Conn
	for i := 0; i < 20; i++ {
		c := &Conn{key: idxKey(i), hash: h}
		x.insert(c, h)
		cs = append(cs, c)
	}
	checkIndex(t, &x)
	for i, c := range cs {
		k := idxKey(i)
		if x.get(&k, h) != c {
			t.Fatalf("get %d", i)
		}
	}
	k := idxKey(99)
	if x.get(&k, h) != nil {
		t.Fatal("found an absent key")
	}
	for i := 0; i < 20; i += 2 {
		x.remove(cs[i], h)
		checkIndex(t, &x)
	}
	for i, c := range cs {
		k := idxKey(i)
		want := c
		if i%2 == 0 {
			want = nil
		}
		if x.get(&k, h) != want {
			t.Fatalf("after removals, get %d", i)
		}
	}
}

// TestIndexGrowth: the table doubles when the load factor is exceeded,
// keeps every entry, and starts no bigger than the limit needs.
func TestIndexGrowth(t *testing.T) {
	var x index
	x.init(0, 1<<20)
	var cs []*Conn
	for i := 0; i < 5000; i++ {
		before := len(x.slots)
		k := idxKey(i)
		c := &Conn{key: k, hash: k.Hash()}
		x.insert(c, c.hash)
		cs = append(cs, c)
		if len(x.slots) != before {
			if len(x.slots) != 2*before || i != before*indexLoadNum/indexLoadDen {
				t.Fatalf("grew from %d to %d slots at %d entries", before, len(x.slots), i)
			}
			checkIndex(t, &x)
		}
		if x.len()*indexLoadDen > len(x.slots)*indexLoadNum {
			t.Fatalf("%d entries in %d slots", x.len(), len(x.slots))
		}
	}
	checkIndex(t, &x)
	for _, c := range cs {
		if x.get(&c.key, c.hash) != c {
			t.Fatal("lost an entry")
		}
	}
	for i, c := range cs {
		if i%3 != 0 {
			x.remove(c, c.hash)
		}
	}
	checkIndex(t, &x)
	for i, c := range cs {
		got := x.get(&c.key, c.hash)
		if (i%3 == 0) != (got == c) || (got != nil && got != c) {
			t.Fatalf("entry %d after removals: %p", i, got)
		}
	}

	var small index
	small.init(1024, 10)
	if len(small.slots) != indexMinLen {
		t.Fatalf("MaxConns 10: %d slots", len(small.slots))
	}
	var big index
	big.init(1024, 1<<20)
	if len(big.slots) != 2048 {
		t.Fatalf("hint 1024: %d slots", len(big.slots))
	}
}

// TestIndexOneWorkersShare: the flows one of four workers owns (hash % 4
// fixed) still spread over the whole table.
func TestIndexOneWorkersShare(t *testing.T) {
	var x index
	x.init(0, 1<<20)
	srv := netip.MustParseAddr("203.0.113.1")
	for i := 0; x.len() < 3000; i++ {
		var s Segment
		s.SetAddrs(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), srv)
		s.SrcPort, s.DstPort = uint16(30000+i), 443
		k, _ := KeyOf(&s, false)
		h := k.Hash()
		if h%4 != 0 {
			continue
		}
		x.insert(&Conn{key: k, hash: h}, h)
	}
	// mean probe length of the stored entries; linear probing at this load
	// with a random hash gives about (1 + 1/(1-a))/2
	mask := uint64(len(x.slots) - 1)
	total := 0
	for j, s := range x.slots {
		if s.c != nil {
			total += int((uint64(j)-x.home(s.hash))&mask) + 1
		}
	}
	a := float64(x.len()) / float64(len(x.slots))
	mean, ideal := float64(total)/float64(x.len()), (1+1/(1-a))/2
	if mean > 1.5*ideal {
		t.Fatalf("mean probe length %.2f at load %.2f (random hash: %.2f)", mean, a, ideal)
	}
}

// FuzzIndex runs random inserts, removals and lookups against a Go map,
// with hashes cut down to a few bits so that runs and collisions are
// common.
func FuzzIndex(f *testing.F) {
	f.Add([]byte{0x03, 1, 2, 3, 4, 5, 0x81, 0x82, 1, 2})
	f.Add([]byte{0x00, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0x8a, 0x8b, 0x8c, 10, 20})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		// in[0] picks how many hash bits survive (1 to 64)
		bits := uint(in[0]%64) + 1
		hashOf := func(id int) uint64 {
			k := idxKey(id)
			h := k.Hash()
			if bits < 64 {
				h &= 1<<bits - 1
				h *= fibInv // the surviving bits choose the home slot
			}
			return h
		}
		var x index
		x.init(0, 1<<20)
		ref := map[int]*Conn{}
		for _, b := range in[1:] {
			id := int(b & 0x7f)
			h := hashOf(id)
			k := idxKey(id)
			if b&0x80 != 0 {
				if c := ref[id]; c != nil {
					x.remove(c, h)
					delete(ref, id)
				} else {
					x.remove(&Conn{key: k, hash: h}, h) // not in: no-op
				}
			} else if ref[id] == nil {
				c := &Conn{key: k, hash: h}
				x.insert(c, h)
				ref[id] = c
			}
			if x.len() != len(ref) {
				t.Fatalf("len %d, want %d", x.len(), len(ref))
			}
			for id := 0; id < 128; id++ {
				k := idxKey(id)
				if got := x.get(&k, hashOf(id)); got != ref[id] {
					t.Fatalf("get(%d) = %p, want %p", id, got, ref[id])
				}
			}
		}
		checkIndex(t, &x)
	})
}

// TestIndexRandomAgainstMap is FuzzIndex's check over many random runs and
// a larger table (growth included).
func TestIndexRandomAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 20; run++ {
		var x index
		x.init(0, 1<<20)
		ref := map[int]*Conn{}
		space := 100 + rng.IntN(5000)
		bits := uint(4 + rng.IntN(60))
		hashOf := func(id int) uint64 {
			k := idxKey(id)
			return k.Hash() & (1<<bits - 1)
		}
		for i := 0; i < 20000; i++ {
			id := rng.IntN(space)
			h := hashOf(id)
			switch c := ref[id]; {
			case c != nil && rng.IntN(2) == 0:
				x.remove(c, h)
				delete(ref, id)
			case c == nil:
				c = &Conn{key: idxKey(id), hash: h}
				x.insert(c, h)
				ref[id] = c
			}
			id = rng.IntN(space)
			k := idxKey(id)
			if got, want := x.get(&k, hashOf(id)), ref[id]; got != want {
				t.Fatalf("run %d op %d: get = %p, want %p", run, i, got, want)
			}
		}
		checkIndex(t, &x)
		if x.len() != len(ref) {
			t.Fatalf("len %d, want %d", x.len(), len(ref))
		}
	}
}

// BenchmarkIndex measures lookups of present (hit: the Conn's key is read)
// and absent (miss: new flows) keys at several loads, in tables of 1 MiB
// and 4 MiB of slots, to choose the load factor.
func BenchmarkIndex(b *testing.B) {
	for _, l := range []int{1 << 16, 1 << 18} {
		for _, load := range []float64{0.5, 0.625, 0.75, 0.875} {
			var x index
			x.alloc(l)
			x.max = l // no growth: measure this load
			n := int(load * float64(l))
			conns := make([]Conn, n)
			for i := range conns {
				c := &conns[i]
				c.key = idxKey(i)
				c.hash = c.key.Hash()
				x.insert(c, c.hash)
			}
			keys := make([]Key, 1<<14)
			hashes := make([]uint64, len(keys))
			rng := rand.New(rand.NewPCG(3, 4))
			for _, kind := range []string{"hit", "miss"} {
				for i := range keys {
					id := rng.IntN(n)
					if kind == "miss" {
						id += n
					}
					keys[i] = idxKey(id)
					hashes[i] = keys[i].Hash()
				}
				b.Run(fmt.Sprintf("%s/slots=%d/load=%.3f", kind, l, load), func(b *testing.B) {
					found := 0
					for i := 0; i < b.N; i++ {
						j := i & (len(keys) - 1)
						if x.get(&keys[j], hashes[j]) != nil {
							found++
						}
					}
					if (kind == "hit") != (found == b.N) {
						b.Fatal("wrong result")
					}
				})
			}
			b.Run(fmt.Sprintf("churn/slots=%d/load=%.3f", l, load), func(b *testing.B) {
				// remove a random entry and insert it back: the backward
				// shift and the probe for a free slot
				for i := 0; i < b.N; i++ {
					c := &conns[rng.IntN(n)]
					x.remove(c, c.hash)
					x.insert(c, c.hash)
				}
			})
		}
	}
}
