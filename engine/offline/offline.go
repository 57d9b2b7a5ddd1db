// Package offline runs the engine on capture files. Each worker owns the
// flows that a symmetric hash of the 4-tuple and VLANs gives it (both
// directions meet on one worker) and feeds them to its own reassembly
// Table. With plain pcap files every worker reads and decodes the whole
// capture itself and keeps its own flows (replicated.go); with pcapng or
// gzip files one reader goroutine reads and decodes, and hands each worker
// its segments in batches. Payloads are lent to the Tables under a lease
// on the buffer they were read into (lease.go). The set of connections and
// their streams depends neither on the number of workers nor on the mode.
package offline

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Config tunes a Run.
type Config struct {
	// Workers is the number of reassembly workers (default: CPUs).
	Workers int
	// Reassembly configures each worker's Table. Its memory limits are
	// per worker.
	Reassembly reassembly.Config
	// Decode configures the decoder.
	Decode decode.Config
	// Handler returns the handler of worker i (called once per worker,
	// before any packet). Required.
	Handler func(worker int) reassembly.Handler
	// Filter, if set, makes the packet filter: a packet it rejects is
	// counted as Filtered and goes no further. Every goroutine that reads
	// packets (each worker, with replicated reading) calls Filter once and
	// uses the Accept it returns on its own, so an Accept may keep state
	// without locks.
	Filter func() Accept
	// Warn receives non-fatal problems, such as a file truncated
	// mid-packet (the packets before the cut are processed).
	Warn func(err error)
	// Progress, if set, is called after every batch with the packets and
	// captured bytes read so far, by the reader (worker 0 when every
	// worker reads).
	Progress func(packets, bytes uint64)
	// BatchSize is the number of packets read at once (default 512).
	BatchSize int
	// SingleReader makes one goroutine read and decode every packet and
	// hand the workers their segments, as it does for pcapng and gzip
	// files and for more than 4 workers. By default, with plain pcap files
	// and up to 4 workers, every worker reads the capture itself and keeps
	// its own flows (replicated.go); the output is the same either way.
	SingleReader bool
	// Started, if set, is called once the workers run, with a Status that
	// any goroutine may read while the Run goes on (metrics, status lines).
	Started func(*Status)
	// Tap, if set, sees every packet read, in file order, on one goroutine
	// (the reader, or the lead worker when every worker reads): tcp says
	// it passed the filter and is TCP (a segment or a fragment of a TCP
	// datagram). It is how -w copies packets and how a capture-clock
	// follows the file. p is valid only during the call.
	Tap func(p *pcapfile.Packet, tcp bool)
}

// Status gives a running Run's counters to other goroutines. The reader
// and the workers publish once per batch; reading takes their locks, the
// packet path never does.
type Status struct {
	replicated bool // every worker reads: segments are counted by the workers
	workers    []*worker.Worker
	mu         sync.Mutex
	reader     Summary // reader-side counters, published per batch
	// own is each worker's decoder counts of the common frames only it
	// decodes (replicated reading, owner.go), published per batch
	own []decode.Stats
}

// Snapshot returns the counters as of the last published batch.
func (s *Status) Snapshot() Summary {
	s.mu.Lock()
	sum := s.reader
	for i := range s.own {
		sum.Decode.Add(&s.own[i])
	}
	s.mu.Unlock()
	sum.PerWorker = make([]uint64, len(s.workers))
	if s.replicated {
		sum.Segments = 0
	}
	for i, w := range s.workers {
		ws := w.Snapshot()
		sum.PerWorker[i] = ws.Segments
		sum.Reassembly.Add(&ws.Reassembly)
		if s.replicated {
			sum.Segments += ws.Segments
		}
	}
	return sum
}

func (s *Status) publish(sum *Summary, dec *decode.Decoder) {
	s.mu.Lock()
	s.reader = *sum
	s.reader.Decode = dec.Stats()
	s.mu.Unlock()
}

func (s *Status) publishOwn(k int, own *decode.Decoder) {
	st := own.Stats()
	s.mu.Lock()
	s.own[k] = st
	s.mu.Unlock()
}

// Accept reports whether a packet passes the filter.
type Accept func(link decode.LinkType, frame []byte, origLen int) bool

// Summary is what a Run did.
type Summary struct {
	Packets    uint64 // packets read
	Bytes      uint64 // captured bytes read
	Filtered   uint64 // packets rejected by the filter
	Segments   uint64 // TCP segments handed to workers
	Decode     decode.Stats
	Reassembly reassembly.Stats // summed over workers
	PerWorker  []uint64         // segments per worker
	Warnings   int
	Elapsed    time.Duration
}

// chunk is an arena of packet bytes shared by the batches cut from one
// read; the last worker done with it returns it to the pool.
type chunk struct {
	buf  []byte
	id   uint32 // the lease its packets' payloads are fed under
	refs atomic.Int32
	pool chan *chunk
}

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		select {
		case c.pool <- c:
		default: // the pool is full: let it go
		}
	}
}

// maxReplicas is the most workers that each read the whole capture: every
// one of them reads and decodes every packet (about 0.1 s of CPU per
// million packets here), which the reassembly shared among more workers
// no longer pays for. Past it one reader dispatches. (Measured with 2 on
// this project's 2-core machines; 4 is a guess.)
const maxReplicas = 4

// leaseArenas is how many of the reader's arenas (256 KiB each) a worker
// keeps leased.
const leaseArenas = 16

// batch is the segments of one read that belong to one worker.
type batch struct {
	segs  []reassembly.Segment
	chunk *chunk
	now   int64
}

// Run reads the files in order as one capture and reassembles it. It
// returns when every connection has been closed (ReasonFlush at the end,
// ReasonShutdown when ctx is cancelled) and handed to the handlers; an
// error means a file could not be read at all.
func Run(ctx context.Context, cfg Config, paths ...string) (Summary, error) {
	if cfg.Handler == nil {
		return Summary{}, errors.New("offline: Config.Handler is required")
	}
	n := cfg.Workers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = 512
	}
	if n == 1 || (n <= maxReplicas && !cfg.SingleReader && pcapfile.Plain(paths...)) {
		return runReplicated(ctx, cfg, n, bs, paths)
	}
	r, err := pcapfile.Open(paths...)
	if err != nil {
		return Summary{}, err
	}
	defer r.Close()

	start := time.Now()
	workers := make([]*worker.Worker, n)
	in := make([]chan *batch, n)
	free := make(chan *batch, 8*n+8)
	// Arenas are allocated when none is free (never waited for: a worker
	// holds its last leases until it is sent more) and kept for reuse.
	chunks := make(chan *chunk, n*leaseArenas+4*n+4)
	var leaseSeq uint32
	var wg sync.WaitGroup
	reason := reassembly.ReasonFlush
	var stopped atomic.Bool
	for i := range workers {
		workers[i] = worker.New(i, cfg.Reassembly, cfg.Handler(i))
		in[i] = make(chan *batch, 8)
		wg.Add(1)
		go func(w *worker.Worker, in <-chan *batch) {
			defer wg.Done()
			leases := newLeaseWindow(w, leaseArenas)
			defer leases.drain()
			for b := range in {
				for j := range b.segs {
					w.Feed(&b.segs[j])
				}
				w.Advance(b.now)
				w.Publish()
				leases.push(b.chunk.id, b.chunk)
				b.chunk = nil
				b.segs = b.segs[:0]
				select {
				case free <- b:
				default:
				}
			}
			if stopped.Load() {
				w.Flush(reassembly.ReasonShutdown)
			} else {
				w.Flush(reason)
			}
		}(workers[i], in[i])
	}

	var sum Summary
	dec := decode.New(cfg.Decode)
	status := &Status{workers: workers}
	if cfg.Started != nil {
		cfg.Started(status)
	}
	pkts := make([]pcapfile.Packet, bs)
	var accept Accept
	if cfg.Filter != nil {
		accept = cfg.Filter()
	}
	pending := make([]*batch, n)
	var runErr error
	for {
		if ctx.Err() != nil {
			stopped.Store(true)
			break
		}
		var ch *chunk
		select {
		case ch = <-chunks:
		default:
			ch = &chunk{pool: chunks}
		}
		leaseSeq++
		ch.id = max(leaseSeq, 1) // 0 is no lease
		var cnt int
		cnt, ch.buf, err = r.ReadBatchInto(pkts, ch.buf)
		if err != nil {
			ch.refs.Store(1)
			ch.release()
			if err == io.EOF {
				break
			}
			if errors.Is(err, pcapfile.ErrTruncated) {
				sum.Warnings++
				if cfg.Warn != nil {
					cfg.Warn(err)
				}
				continue
			}
			runErr = err
			break
		}
		var now int64
		for i := 0; i < cnt; i++ {
			p := &pkts[i]
			now = max(now, p.TS)
			var seg reassembly.Segment
			if decodeOne(p, accept, cfg.Tap, dec, &sum, &seg) != decode.ResultTCP {
				continue
			}
			lend(&seg, p, ch.id)
			sum.Segments++
			w := int(reassembly.FlowHash(&seg, flowHashNoVLAN(&cfg.Reassembly)) % uint64(n))
			b := pending[w]
			if b == nil {
				select {
				case b = <-free:
				default:
					b = &batch{segs: make([]reassembly.Segment, 0, bs)}
				}
				pending[w] = b
			}
			b.segs = append(b.segs, seg)
		}
		ch.refs.Store(1) // the reader's own reference until all are sent
		for w, b := range pending {
			if b == nil {
				// every worker gets every read's capture clock, segments
				// or not: its Table then advances exactly as it would if
				// it read the capture itself (replicated reading), and a
				// worker whose flows went quiet still expires them
				select {
				case b = <-free:
				default:
					b = &batch{}
				}
			}
			b.chunk, b.now = ch, now
			ch.refs.Add(1)
			in[w] <- b
			pending[w] = nil
		}
		ch.release()
		if cfg.Started != nil {
			status.publish(&sum, dec)
		}
		if cfg.Progress != nil {
			cfg.Progress(sum.Packets, sum.Bytes)
		}
	}
	for _, c := range in {
		close(c)
	}
	wg.Wait()
	sum.Decode = dec.Stats()
	sum.PerWorker = make([]uint64, n)
	for i, w := range workers {
		s := w.Snapshot()
		sum.PerWorker[i] = s.Segments
		sum.Reassembly.Add(&s.Reassembly)
	}
	sum.Elapsed = time.Since(start)
	return sum, runErr
}

// decodeOne counts packet p in sum, applies the filter, decodes p into seg
// and shows p to tap (if not nil); it returns the decoder's result
// (ResultNotTCP for a packet the filter rejected).
func decodeOne(p *pcapfile.Packet, accept Accept, tap func(*pcapfile.Packet, bool), dec *decode.Decoder, sum *Summary, seg *reassembly.Segment) decode.Result {
	sum.Packets++
	sum.Bytes += uint64(p.CaptureLen)
	if accept != nil && !accept(p.Link, p.Data, p.OrigLen) {
		sum.Filtered++
		if tap != nil {
			tap(p, false)
		}
		return decode.ResultNotTCP
	}
	res, _ := dec.Decode(p.Link, p.Data, p.OrigLen, p.TS, seg)
	if tap != nil {
		tap(p, res == decode.ResultTCP || res == decode.ResultFragment)
	}
	return res
}

// countOnly counts packet p in sum and applies the filter, as decodeOne
// does, for a packet another worker decodes.
func countOnly(p *pcapfile.Packet, accept Accept, sum *Summary) {
	sum.Packets++
	sum.Bytes += uint64(p.CaptureLen)
	if accept != nil && !accept(p.Link, p.Data, p.OrigLen) {
		sum.Filtered++
	}
}

// lend sets how seg's payload is held: lent under lease when it lies in
// packet p; copied into a slice of its own when it is a reassembled IP
// datagram in the decoder's buffer, which the next packet reuses (rare).
func lend(seg *reassembly.Segment, p *pcapfile.Packet, lease uint32) {
	if inside(seg.Payload, p.Data) {
		seg.Lease = lease
		return
	}
	seg.Payload = append([]byte(nil), seg.Payload...)
	seg.Stable = true // never reused
}

// inside reports whether b lies within the memory of frame.
func inside(b, frame []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(frame) == 0 {
		return false
	}
	f := uintptr(unsafe.Pointer(unsafe.SliceData(frame)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= f && p < f+uintptr(len(frame))
}

// flowHashNoVLAN says whether flows are spread over workers without their
// VLANs: when VLANs are not in the key, and when a connection's two
// directions may be joined across VLAN stacks (reassembly.Config.NoVLANJoin
// off), which needs both on one worker.
func flowHashNoVLAN(c *reassembly.Config) bool { return c.IgnoreVLAN || !c.NoVLANJoin }
