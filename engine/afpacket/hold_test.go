package afpacket

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHoldBlocks: a reader holds two blocks at once; they come in order,
// Release gives back the oldest first, and a reader holding every block
// gets none until it releases one.
func TestHoldBlocks(t *testing.T) {
	v := newTestNS(t)
	rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 3, BlockSize: 1 << 16, BlockTimeout: time.Millisecond}, 1, (*Ring).DetachFilter)
	if err != nil {
		t.Fatal(err)
	}
	r := rings[0]
	defer r.Close()
	tx := v.sender(t)
	// one frame per block: the 1 ms timeout retires each before the next
	send := func(m uint32) {
		t.Helper()
		if _, err := unix.Write(tx, tcpFrame(9, false, m, 0)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := func(b Block) uint32 {
		var f Frame
		if !b.Next(&f) {
			return 0
		}
		return marker(f.Data)
	}
	kernel := func(i int) bool { return atomic.LoadUint32(r.status(i)) == unix.TP_STATUS_KERNEL }

	send(1)
	send(2)
	b1, ok1, err1 := r.Next(time.Second)
	b2, ok2, err2 := r.Next(time.Second)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		t.Fatalf("two blocks: %v %v %v %v", ok1, ok2, err1, err2)
	}
	if m1, m2 := first(b1), first(b2); m1 != 1 || m2 != 2 || r.Held() != 2 {
		t.Fatalf("blocks hold %d and %d, %d held", m1, m2, r.Held())
	}
	r.Release()
	if !kernel(0) || kernel(1) || r.Held() != 1 {
		t.Fatalf("after one Release: block 0 kernel's %v, block 1 kernel's %v, %d held", kernel(0), kernel(1), r.Held())
	}
	send(3)
	send(4) // into block 0, given back above
	b3, ok3, _ := r.Next(time.Second)
	b4, ok4, _ := r.Next(time.Second)
	if !ok3 || !ok4 || first(b3) != 3 || first(b4) != 4 || r.Held() != 3 {
		t.Fatalf("blocks 3, 4: %v %v, %d held", ok3, ok4, r.Held())
	}
	// every block held: nothing more, however long the wait
	if _, ok, err := r.Next(30 * time.Millisecond); ok || err != nil {
		t.Fatalf("a full lap held: ok %v, err %v", ok, err)
	}
	for r.Held() > 0 {
		r.Release()
	}
	r.Release() // none held: a no-op
	for i := 0; i < 3; i++ {
		if !kernel(i) {
			t.Errorf("block %d not given back", i)
		}
	}
	send(5)
	if b, ok, _ := r.Next(time.Second); !ok || first(b) != 5 {
		t.Fatalf("after the lap: ok %v", ok)
	}
	r.Release()
}
