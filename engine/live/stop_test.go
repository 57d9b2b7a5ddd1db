package live

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/flowgen"
)

// TestDrain: after the stop a worker takes the blocks the kernel opened
// before it, and stops at the first opened after it (traffic that keeps
// coming), at one lap of the ring, at a quiet ring, or at an error.
func TestDrain(t *testing.T) {
	const stop = 1_700_000_000_000_000_000
	block := func(first int64) afpacket.Block {
		bb := afpacket.NewBlockBuilder(4096)
		bb.Add(afpacket.Frame{Data: []byte("x"), TS: first})
		bb.Add(afpacket.Frame{Data: []byte("y"), TS: first + 5e6})
		return afpacket.ParseBlock(bb.Bytes())
	}
	errRing := errors.New("ring")
	for _, tc := range []struct {
		name   string
		firsts []int64 // the ring's blocks, oldest first; 0 is an error
		max    int
		want   int
	}{
		{"before, at, after", []int64{stop - 2e9, stop - 1, stop, stop + 1, stop - 5}, 10, 3},
		{"quiet ring", []int64{stop - 1e6}, 10, 1},
		{"all after", []int64{stop + 1, stop - 1}, 10, 0},
		{"one lap", []int64{stop - 9, stop - 8, stop - 7, stop - 6, stop - 5}, 3, 3},
		{"error", []int64{stop - 9, 0, stop - 7}, 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			var waits []time.Duration
			next := func(timeout time.Duration) (afpacket.Block, bool, error) {
				waits = append(waits, timeout)
				if i == len(tc.firsts) {
					return afpacket.Block{}, false, nil
				}
				first := tc.firsts[i]
				i++
				if first == 0 {
					return afpacket.Block{}, false, errRing
				}
				return block(first), true, nil
			}
			var got []int64
			n := drain(next, stop, time.Millisecond, tc.max, func(b *afpacket.Block) {
				got = append(got, b.FirstTS())
				var f afpacket.Frame
				for b.Next(&f) {
				}
			})
			if n != tc.want || len(got) != tc.want {
				t.Fatalf("drained %d (processed %d), want %d", n, len(got), tc.want)
			}
			for j, ts := range got {
				if ts != tc.firsts[j] {
					t.Errorf("block %d: first %d, want %d", j, ts, tc.firsts[j])
				}
			}
			for _, w := range waits {
				if w > time.Millisecond || w == 0 {
					t.Errorf("waited %v: want at most the block wait, or -1", w)
				}
			}
		})
	}
}

// TestStopTakesTheFillingBlock: packets the kernel put in the ring block
// it is still filling when the capture stops are read too: the stop waits
// up to a block timeout for that block. A long block timeout makes the
// block still open when the stop comes.
func TestStopTakesTheFillingBlock(t *testing.T) {
	file := genCapture(t, flowgen.Config{Seed: 3, Conns: 5})
	v := newVethNS(t)
	var rc recorder
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	var mu sync.Mutex
	var last Status
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Run(ctx, Config{Interface: v.Rx, NetNS: v.Path, Workers: 1, Handler: rc.handler,
			BlockTimeout: 2 * time.Second, StatusInterval: 20 * time.Millisecond,
			Status: func(s Status) { mu.Lock(); last = s; mu.Unlock() },
			Ready:  func(Info) error { close(ready); return nil }})
		done <- result{s, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		t.Fatal(r.err)
	}
	out, err := exec.Command("ip", "netns", "exec", v.Name, "tcpreplay", "-i", v.Tx, "--topspeed", file).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay: %v: %s", err, out)
	}
	// stop once the kernel has them all, long before the block times out
	t0 := time.Now()
	for {
		mu.Lock()
		got := last.Received
		mu.Unlock()
		if got > 0 && time.Since(t0) > 100*time.Millisecond {
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatal("the kernel did not count the packets")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	early := last.Packets
	mu.Unlock()
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if early == r.sum.Kernel.Packets {
		t.Fatalf("the block was handed over before the stop (%d packets read already): the test tests nothing", early)
	}
	if r.sum.Packets != r.sum.Kernel.Packets || r.sum.Kernel.Drops != 0 {
		t.Errorf("read %d packets of the %d the kernel put in the ring (drops %d)", r.sum.Packets, r.sum.Kernel.Packets, r.sum.Kernel.Drops)
	}
	if n := len(rc.sorted()); n != 5 {
		t.Errorf("%d connections, want 5", n)
	}
}
