package decode

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// check verifies the defragmenter's bookkeeping.
func (f *defrag) check() error {
	if len(f.live)+len(f.free) != len(f.slots) || len(f.live) != f.pending {
		return fmt.Errorf("live %d + free %d != %d slots (pending %d)", len(f.live), len(f.free), len(f.slots), f.pending)
	}
	seen := make(map[int32]bool)
	bytes := 0
	for p, i := range f.live {
		s := &f.slots[i]
		if !s.used || int(s.pos) != p || seen[i] {
			return fmt.Errorf("live slot %d: used %v pos %d at %d", i, s.used, s.pos, p)
		}
		seen[i] = true
		bytes += len(s.data)
		for j := 1; j < len(s.pieces); j++ {
			if s.pieces[j-1].off > s.pieces[j].off {
				return fmt.Errorf("pieces out of order")
			}
		}
	}
	for _, i := range f.free {
		if f.slots[i].used || seen[i] {
			return fmt.Errorf("free slot %d used", i)
		}
		seen[i] = true
	}
	if bytes != f.bytes || int(f.st.FragPendingBytes) != bytes || int(f.st.FragPending) != f.pending {
		return fmt.Errorf("bytes %d, counted %d", bytes, f.bytes)
	}
	return nil
}

func TestDefragBookkeeping(t *testing.T) {
	cfg := Config{FragTimeout: time.Second, FragMaxDatagrams: 8, FragMaxFragments: 6, FragMaxBytes: 600}
	var st Stats
	var f defrag
	f.init(&cfg, &st)
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 200)
	ts := int64(0)
	for n := range 200000 {
		ts += int64(r.IntN(int(20 * time.Millisecond)))
		if n%1000 == 0 {
			ts += int64(2 * time.Second) // let pending datagrams expire
		}
		if n%7 == 0 {
			f.expire(ts)
		}
		k := fragKey{id: uint32(r.IntN(12)), proto: 6}
		off := r.IntN(6) * 8
		l := r.IntN(5) * 8
		more := r.IntN(3) != 0
		for i := range data[:l] {
			data[i] = byte(r.IntN(2))
		}
		f.add(&k, off, more, data[:l], 6, ts)
		if err := f.check(); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
	}
	if st.FragReassembled == 0 || st.FragEvictions == 0 || st.FragTimeouts == 0 || st.FragConflicts == 0 {
		t.Errorf("workload missed a path: %+v", st)
	}
}
