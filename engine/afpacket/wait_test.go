package afpacket

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWait runs Next's wait both ways (the runtime's poller, and poll(2),
// its fallback): a quiet ring times out, a frame sent while the reader
// waits wakes it long before its timeout, and an interface deleted under
// a waiting reader gives an error naming it at once.
func TestWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		poller bool
	}{{"poller", true}, {"poll(2)", false}} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestNS(t)
			rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 4, BlockSize: 1 << 16, BlockTimeout: time.Millisecond}, 1, (*Ring).DetachFilter)
			if err != nil {
				t.Fatal(err)
			}
			r := rings[0]
			defer r.Close()
			if r.w.rc == nil {
				t.Fatal("the socket is not in the runtime's poller")
			}
			if !tc.poller {
				r.w.rc = nil
			}

			t0 := time.Now()
			if _, ok, err := r.Next(60 * time.Millisecond); ok || err != nil {
				t.Fatalf("quiet ring: ok %v, err %v", ok, err)
			}
			if d := time.Since(t0); d < 50*time.Millisecond || d > time.Second {
				t.Errorf("a 60ms wait took %v", d)
			}

			tx := v.sender(t)
			go func() {
				time.Sleep(30 * time.Millisecond)
				_, _ = unix.Write(tx, tcpFrame(7, false, 0xfeed, 0))
			}()
			t0 = time.Now()
			b, ok, err := r.Next(5 * time.Second)
			if err != nil || !ok {
				t.Fatalf("frame sent during the wait: ok %v, err %v after %v", ok, err, time.Since(t0))
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("woken after %v", d)
			}
			var f Frame
			if !b.Next(&f) || marker(f.Data) != 0xfeed {
				t.Errorf("block of %d frames, first %x", b.NumPackets(), f.Data)
			}
			r.Release()

			errc := make(chan error, 1)
			go func() {
				for {
					_, _, err := r.Next(5 * time.Second)
					if err != nil {
						errc <- err
						return
					}
				}
			}()
			time.Sleep(50 * time.Millisecond) // let it wait
			if err := sh("ip", "-n", v.name, "link", "del", v.tx); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !strings.Contains(err.Error(), "went down or away") {
					t.Errorf("error %v", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("no error 3s after the interface was deleted")
			}
		})
	}
}

// TestWaitAllocs: waiting allocates nothing (the callback handed to the
// poller is made once per ring).
func TestWaitAllocs(t *testing.T) {
	r := quietRing(t)
	if a := testing.AllocsPerRun(5, func() {
		if _, ok, err := r.Next(time.Millisecond); ok || err != nil {
			t.Fatalf("ok %v, err %v", ok, err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per wait", a)
	}
}

// TestPollWaitSignals: signals delivered to the thread blocked in poll(2)
// (Go takes SIGURG and SIGCHLD all the time; poll is never restarted) do
// not end the wait early: a quiet ring still waits out its timeout. CI
// once saw Next's poll(2) wait return "nothing" after 66 µs of a 5 s wait.
func TestPollWaitSignals(t *testing.T) {
	r := quietRing(t)
	r.w.rc = nil // poll(2)

	tidc := make(chan int)
	type result struct {
		ok  bool
		err error
		d   time.Duration
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tidc <- unix.Gettid()
		t0 := time.Now()
		_, ok, err := r.Next(300 * time.Millisecond)
		done <- result{ok, err, time.Since(t0)}
	}()
	tid := <-tidc
	sent := 0
	for {
		select {
		case res := <-done:
			if res.ok || res.err != nil {
				t.Fatalf("quiet ring: ok %v, err %v", res.ok, res.err)
			}
			if res.d < 250*time.Millisecond {
				t.Errorf("a 300ms wait ended after %v (%d signals sent to its thread)", res.d, sent)
			}
			if sent == 0 {
				t.Error("no signal was sent during the wait")
			}
			return
		case <-time.After(20 * time.Millisecond):
			if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGURG); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
}

// quietRing opens one small ring on a test namespace's veth that nothing
// is sent to; it is closed when the test ends.
func quietRing(t *testing.T) *Ring {
	v := newTestNS(t)
	rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 2, BlockSize: 1 << 16}, 1, (*Ring).DetachFilter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rings[0].Close() })
	return rings[0]
}
