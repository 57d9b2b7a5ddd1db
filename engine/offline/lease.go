package offline

import "github.com/fastsniff/fastsniff/engine/worker"

// Payloads are handed to the Tables under a lease on the buffer they were
// read into (reassembly.Segment.Lease), and each worker keeps the leases
// of the last few buffers it fed from: bytes that wait for their ACK less
// long than that are delivered from the buffer itself, never copied (on
// the benchmark capture about four fifths of the payload). Ending the
// oldest lease copies what its buffer still holds for the Table and
// releases the buffer for reuse.

// releaser is a buffer shared by the batches cut from it.
type releaser interface{ release() }

// leaseWindow is one worker's leases, oldest first.
type leaseWindow struct {
	w *worker.Worker
	k int
	q []held
}

type held struct {
	id uint32
	r  releaser
}

func newLeaseWindow(w *worker.Worker, k int) *leaseWindow {
	return &leaseWindow{w: w, k: k, q: make([]held, 0, k+1)}
}

// push records that the worker fed segments leased as id from r; the
// oldest lease ends when more than k are held.
func (l *leaseWindow) push(id uint32, r releaser) {
	l.q = append(l.q, held{id, r})
	if len(l.q) > l.k {
		l.pop()
	}
}

func (l *leaseWindow) pop() {
	h := l.q[0]
	l.w.EndLease(h.id)
	h.r.release()
	l.q = append(l.q[:0], l.q[1:]...)
}

// drain ends every lease (after Flush: nothing is held any more).
func (l *leaseWindow) drain() {
	for len(l.q) > 0 {
		l.pop()
	}
}
