package live

import "github.com/fastsniff/fastsniff/engine/afpacket"

// holdBlocks is how many ring blocks a worker keeps after walking them,
// before their lease ends and they go back to the kernel. A payload whose
// ACK has not come by the end of its block is delivered from the ring if
// the ACK comes within the next holdBlocks blocks; only what waits longer
// is copied (reassembly.Table.EndLease). On the bench traffic in full
// 1 MiB blocks, 41% of the payload bytes were copied holding none, 13%
// holding 1, 2.6% holding 4; the copies were 7% of a worker's CPU
// (docs/PERFORMANCE.md). A ring keeps at most a sixteenth of its blocks
// back from the kernel that way.
const holdBlocks = 4

// holdFor is the number of blocks a worker holds on ring (holdBlocks in
// tests, without one).
func holdFor(ring *afpacket.Ring) int {
	if ring == nil {
		return holdBlocks
	}
	return min(holdBlocks, ring.NumBlocks()/16)
}

// retire notes the lease of the block just walked and, once more than
// lw.hold blocks are held, ends the oldest one's lease: it reports whether
// the caller gives one block (the oldest) back to the kernel.
func (lw *lworker) retire() bool {
	if lw.held == nil {
		lw.held = make([]uint32, 0, lw.hold+1) // never grows after
	}
	lw.held = append(lw.held, lw.lease)
	if len(lw.held) <= lw.hold {
		return false
	}
	lw.w.EndLease(lw.held[0])
	lw.held = lw.held[:copy(lw.held, lw.held[1:])]
	return true
}

// endHeld ends the lease of every held block (the ring is quiet, or the
// worker stops) and returns how many blocks the caller gives back.
func (lw *lworker) endHeld() int {
	n := len(lw.held)
	for _, l := range lw.held {
		lw.w.EndLease(l)
	}
	lw.held = lw.held[:0]
	return n
}

// releaseHeld gives every held block back to the kernel.
func (lw *lworker) releaseHeld() {
	for n := lw.endHeld(); n > 0; n-- {
		lw.ring.Release()
	}
}
