package reassembly

import "math/bits"

// Buffers are pooled in power-of-two size classes from 64 B to 128 KiB, so
// that a Table in its steady state allocates nothing: every buffer it holds
// came back from a delivered segment. Larger segments (rare: GRO/TSO frames
// past 128 KiB) are allocated to size and dropped on release.
const (
	minClassShift = 6  // 64 B
	maxClassShift = 17 // 128 KiB
	numClasses    = maxClassShift - minClassShift + 1
)

type pool struct {
	free     [numClasses][][]byte
	freeN    int // bytes in free
	maxFree  int // past this, released buffers go to the garbage collector
	allocs   *uint64
	oversize *uint64
}

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// pooledSize is the capacity of the buffer get(n) returns.
func pooledSize(n int) int {
	if c := classOf(n); c < numClasses {
		return 1 << (c + minClassShift)
	}
	return n
}

// get returns a buffer with len n.
func (p *pool) get(n int) []byte {
	c := classOf(n)
	if c >= numClasses {
		*p.allocs++
		*p.oversize++
		return make([]byte, n)
	}
	if l := len(p.free[c]); l > 0 {
		b := p.free[c][l-1]
		p.free[c][l-1] = nil
		p.free[c] = p.free[c][:l-1]
		p.freeN -= cap(b)
		return b[:n]
	}
	*p.allocs++
	return make([]byte, n, 1<<(c+minClassShift))
}

// put takes a buffer back.
func (p *pool) put(b []byte) {
	c := classOf(cap(b))
	if c >= numClasses || cap(b) != 1<<(c+minClassShift) || p.freeN+cap(b) > p.maxFree {
		return
	}
	p.freeN += cap(b)
	p.free[c] = append(p.free[c], b[:0])
}
