package afpacket

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// waiter parks a reader waiting for the next block in the Go runtime's
// poller (epoll) instead of a blocking poll(2). A goroutine blocked in a
// system call holds its P; when every P is held that way, sysmon takes
// them back and stays on its shortest tick (20 µs) — tens of thousands of
// wake-ups a second while the rings are quiet between blocks, which cost
// as much CPU as walking the blocks. A goroutine parked in the poller
// holds nothing and sysmon backs off.
type waiter struct {
	f     *os.File        // owns the socket once set; nil: close the fd directly
	rc    syscall.RawConn // nil: the poller does not have the socket, poll(2)
	check func(uintptr) bool
	woken bool  // check has run once in this wait: later calls follow a wake-up
	err   error // a socket error check found
}

// newWaiter hands fd to the runtime's poller. On failure the ring falls
// back to poll(2).
func newWaiter(r *Ring) {
	if err := unix.SetNonblock(r.fd, true); err != nil {
		return // a blocking socket is fine for poll(2)
	}
	f := os.NewFile(uintptr(r.fd), "afpacket")
	r.w.f = f
	// a deadline can be set only on a descriptor the poller has
	if f.SetReadDeadline(time.Time{}) != nil {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	r.w.rc = rc
	r.w.check = r.checkReady // one func value for every wait: no allocation
}

// checkReady is the RawConn.Read callback: done when the current block is
// userspace's, or when a wake-up brought a socket error instead.
func (r *Ring) checkReady(uintptr) bool {
	if r.ready() {
		return true
	}
	if r.w.woken {
		if r.w.err = r.sockErr(); r.w.err != nil {
			return true
		}
	}
	r.w.woken = true
	return false
}

// wait returns when the current block may be userspace's, timeout has
// passed, or the socket reports an error.
func (r *Ring) wait(timeout time.Duration) error {
	w := &r.w
	if w.rc == nil {
		return r.pollWait(timeout)
	}
	if err := w.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return r.pollWait(timeout)
	}
	w.woken, w.err = false, nil
	err := w.rc.Read(w.check)
	switch {
	case err == nil:
		return w.err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, os.ErrClosed):
		return errors.New("afpacket: socket closed")
	}
	// the poller saw EPOLLERR alone: read the error, or wait with
	// poll(2) until an event clears the poller's error mark
	if serr := r.sockErr(); serr != nil {
		return serr
	}
	return r.pollWait(timeout)
}

// close closes the socket (through the File that owns it, if any).
func (w *waiter) close(fd int) error {
	if w.f != nil {
		return w.f.Close()
	}
	return unix.Close(fd)
}
