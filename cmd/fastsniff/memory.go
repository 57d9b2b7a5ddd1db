package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// defaultMaxMemory fits a small sensor: 512 MiB of connection state and
// buffered payload for all workers together (Suricata's defaults add up to
// about as much: flow 128 MB, stream 64 MB, reassembly 256 MB).
const defaultMaxMemory = 512 << 20

// memoryOverhead is what a run needs beyond --max-memory: the Go runtime,
// the outputs' queues, the offline readers' arenas (docs/REASSEMBLY.md has
// the measurement). The garbage collector's soft limit is the sum.
const memoryOverhead = 192 << 20

type memoryOptions struct {
	max bodySize
}

func addMemoryFlags(fs *flag.FlagSet, o *memoryOptions) {
	o.max = defaultMaxMemory
	fs.Var(&o.max, "max-memory", "bound connection state and buffered payload of all workers together to `SIZE` (k/m/g); past it connections are evicted: half-open first, then idle ones, then those with buffered bytes (delivered first)")
}

// applyMemory gives each worker's Table its share of the budget, counts
// and reports evictions (a warning the first time, then at most once a
// minute), and sets the garbage collector's soft limit to the budget plus
// the fixed overhead, so that garbage never takes the heap far past it.
func applyMemory(o *options, stderr io.Writer) {
	budget := int64(o.memory.max)
	o.reasm.MaxMemory = int(budget / int64(o.workers))
	ev := &evictions{w: stderr, budget: budget}
	o.reasm.Evicted = ev.add
	o.evictions = ev
	debug.SetMemoryLimit(budget + memoryOverhead)
}

// evictions counts what the memory budget pushed out, over all workers.
type evictions struct {
	w        io.Writer
	budget   int64
	n, other atomic.Uint64 // all; not half-open (rare)
	buffered atomic.Uint64
	lastWarn atomic.Int64 // Unix ns of the last warning, 0 none
}

// warnEvery is how many evictions pass between two looks at the clock
// after the first: in a flood every packet evicts a half-open connection,
// and reading the clock each time cost a twentieth of the packet.
const warnEvery = 256

// add is reassembly.Config.Evicted, called by every worker: once a packet
// in a flood, so it touches one shared counter in the common case.
func (e *evictions) add(halfOpen, buffered bool) {
	n := e.n.Add(1)
	if !halfOpen {
		e.other.Add(1)
	}
	if buffered {
		e.buffered.Add(1)
	}
	if n != 1 && n%warnEvery != 0 {
		return
	}
	now := time.Now().UnixNano()
	last := e.lastWarn.Load()
	if last != 0 && now-last < int64(time.Minute) || !e.lastWarn.CompareAndSwap(last, now) {
		return
	}
	fmt.Fprintf(e.w, "fastsniff: warning: memory budget (--max-memory %d MiB) reached: %d connections evicted so far (%d half-open, %d with buffered bytes)\n",
		e.budget>>20, n, n-e.other.Load(), e.buffered.Load())
}
