// Package pipe moves buffers filled by capture workers to a single writer
// goroutine per output, through a bounded queue.
//
// Each worker owns one buffer at a time and appends records to it without
// locks. When the buffer is full (or on Flush) the worker hands it to the
// writer with Put and takes a fresh one with Get. Buffers are recycled
// through a free list, so in the steady state nothing is allocated.
//
// Back-pressure: the queue holds at most Queue buffers. Put only blocks when
// the queue is full, i.e. when the writer is Queue buffers (Queue × Size
// bytes, 16 × 64 KiB = 1 MiB by default) behind the workers; every such wait
// is counted in Stalls.
//
// Memory: a buffer is allocated only when the free list is empty, i.e. when
// every existing buffer is queued, being written or held by a worker, and
// the free list is large enough never to drop one (up to MaxWorkers
// workers). So at most (workers + Queue + 2) × Size bytes are ever
// allocated whatever the input, and nothing is allocated once that many
// buffers exist.
//
// Stamps: a buffer may carry a stamp (PutAt), an int64 the output gives
// its meaning to (the logs: the capture time their lines were logged at,
// for rotation on the capture clock); the writer gets it with the buffer
// (NewStamped).
//
// Errors: the first error returned by the consume function is kept; after
// it the writer still drains the queue (so workers never block forever) but
// discards what it receives. Close returns that first error.
package pipe

import (
	"sync"
	"sync/atomic"
)

// Defaults for Config fields left zero.
const (
	DefaultSize  = 64 << 10
	DefaultQueue = 16
)

// MaxWorkers is how many workers the free list is sized for; with more,
// buffers are occasionally dropped and reallocated (still bounded).
const MaxWorkers = 256

// Config sizes a Pipe.
type Config struct {
	Size  int // bytes per buffer (a soft limit: see Full); default 64 KiB
	Queue int // buffers queued for the writer at most; default 16
	// Mark, if set, is called on the writer goroutine for each Mark, in
	// order with the buffers.
	Mark func(from int, stamp int64)
}

// Stats are a Pipe's counters.
type Stats struct {
	Buffers uint64 // buffers handed to the writer
	Bytes   uint64 // bytes in those buffers
	Stalls  uint64 // times Put had to wait for the writer
	Allocs  uint64 // buffers allocated (stops growing in the steady state)
}

// item is a buffer handed over with its stamp.
type item struct {
	b     []byte
	stamp int64
	mark  int // Mark's from + 1; 0: a buffer
}

// Pipe is a bounded queue of buffers in front of one writer goroutine.
type Pipe struct {
	size    int
	full    chan item
	free    chan []byte
	consume func([]byte, int64) error
	mark    func(int, int64)
	finish  func(error) error
	done    chan struct{}

	closeOnce sync.Once
	err       error // first error; read after done is closed

	buffers, bytes, stalls, allocs atomic.Uint64
}

// New starts the writer goroutine. consume is called, on that goroutine
// only, with every buffer handed over, in the order of Put calls (buffers
// from different workers interleave). It must not keep the slice. finish is
// called once on the writer goroutine after the last buffer, with the first
// error so far (nil if none); what it returns becomes the error if there
// was none before. consume and finish may be nil.
func New(cfg Config, consume func([]byte) error, finish func(error) error) *Pipe {
	var c func([]byte, int64) error
	if consume != nil {
		c = func(b []byte, _ int64) error { return consume(b) }
	}
	return NewStamped(cfg, c, finish)
}

// NewStamped is New with a consume function that gets each buffer's stamp
// too (0 for a buffer handed over with Put).
func NewStamped(cfg Config, consume func(b []byte, stamp int64) error, finish func(error) error) *Pipe {
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	p := &Pipe{
		size:    cfg.Size,
		full:    make(chan item, cfg.Queue),
		free:    make(chan []byte, cfg.Queue+2+MaxWorkers),
		consume: consume,
		mark:    cfg.Mark,
		finish:  finish,
		done:    make(chan struct{}),
	}
	go p.run()
	return p
}

// Size is the nominal size of a buffer.
func (p *Pipe) Size() int { return p.size }

// Get returns an empty buffer with capacity of at least Size.
func (p *Pipe) Get() []byte {
	select {
	case b := <-p.free:
		return b[:0]
	default:
		p.allocs.Add(1)
		return make([]byte, 0, p.size)
	}
}

// Put hands b to the writer and returns an empty buffer to fill next. It
// blocks only while the queue is full. An empty b is kept and returned.
// Put must not be called after Close.
func (p *Pipe) Put(b []byte) []byte { return p.PutAt(b, 0) }

// Mark sends the writer (Config.Mark) a note from a worker, in order with
// the buffers that worker handed over before: the logs say with it that
// nothing stamped before stamp will come from that worker. It blocks as
// Put does.
func (p *Pipe) Mark(from int, stamp int64) {
	it := item{stamp: stamp, mark: from + 1}
	select {
	case p.full <- it:
	default:
		p.stalls.Add(1)
		p.full <- it
	}
}

// PutAt is Put with a stamp for the writer.
func (p *Pipe) PutAt(b []byte, stamp int64) []byte {
	if len(b) == 0 {
		return b
	}
	it := item{b: b, stamp: stamp}
	select {
	case p.full <- it:
	default:
		p.stalls.Add(1)
		p.full <- it
	}
	return p.Get()
}

// Close waits for the writer to consume every buffer handed over, runs
// finish and returns the first error. Buffers still held by workers are
// not written: hand them over with Put first. Close may be called more
// than once; later calls return the same error.
func (p *Pipe) Close() error {
	p.closeOnce.Do(func() { close(p.full) })
	<-p.done
	return p.err
}

// Stats returns the counters; safe to call from any goroutine.
func (p *Pipe) Stats() Stats {
	return Stats{
		Buffers: p.buffers.Load(),
		Bytes:   p.bytes.Load(),
		Stalls:  p.stalls.Load(),
		Allocs:  p.allocs.Load(),
	}
}

func (p *Pipe) run() {
	defer close(p.done)
	var err error
	for it := range p.full {
		if it.mark != 0 {
			if err == nil && p.mark != nil {
				p.mark(it.mark-1, it.stamp)
			}
			continue
		}
		b := it.b
		p.buffers.Add(1)
		p.bytes.Add(uint64(len(b)))
		if err == nil && p.consume != nil {
			err = p.consume(b, it.stamp)
		}
		if cap(b) <= 2*p.size { // oversized buffers are not kept
			select {
			case p.free <- b[:0]:
			default:
			}
		}
	}
	if p.finish != nil {
		if e := p.finish(err); err == nil {
			err = e
		}
	}
	p.err = err
}
