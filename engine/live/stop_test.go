package live

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

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
