package offline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Striped reading, for N >= 2 workers on plain pcap files: worker k reads
// chunks k, k+N, k+2N... of the capture itself (pread, in parallel with the
// others), so reading costs no single goroutine the whole file. The walk
// over a chunk's records, with decoding and the packet filter, must follow
// file order — the IP fragment reassembler and the counters see the packets
// as one sequence — so it is done under a baton: the Decoder, the file
// cursor and the counters, handed from the walker of chunk j to the walker
// of chunk j+1. The walker sorts the chunk's segments by owner (flow hash):
// its own it keeps, the others' it sends to their owners, one batch per
// chunk and worker (empty ones too: they carry the capture clock). Every
// worker feeds its Table chunk after chunk in file order, so the result is
// the same as with one reader.

// stripeChunk is the size of a chunk: big enough that the hand-offs per
// chunk cost nothing, small enough that a chunk is still in the cache when
// its segments are fed.
const stripeChunk = 512 << 10

// baton is what the walk in file order needs; one goroutine holds it.
type baton struct {
	cur     pcapfile.Cursor
	dec     *decode.Decoder
	sum     Summary // reader-side counters
	now     int64   // newest capture time so far
	err     error   // a file could not be read: the walk stops
	stopped bool    // the context was cancelled: the walk stops
}

// stripeBuf is one chunk's bytes; the last user returns it to its reader.
type stripeBuf struct {
	c    pcapfile.Chunk
	j    int   // chunk index
	err  error // of reading it
	refs atomic.Int32
	home chan *stripeBuf
}

func (b *stripeBuf) release() {
	if b.refs.Add(-1) == 0 {
		select {
		case b.home <- b:
		default:
		}
	}
}

// stripeBatch is one chunk's segments for one worker.
type stripeBatch struct {
	segs []reassembly.Segment
	now  int64
	buf  *stripeBuf
	home chan *stripeBatch
}

func runStriped(ctx context.Context, cfg Config, n int, sr *pcapfile.Striped, start time.Time) (Summary, error) {
	workers := make([]*worker.Worker, n)
	for i := range workers {
		workers[i] = worker.New(i, cfg.Reassembly, cfg.Handler(i))
	}
	status := &Status{workers: workers}
	if cfg.Started != nil {
		cfg.Started(status)
	}
	J := sr.Chunks()
	batons := make([]chan *baton, n)
	// in[c][p]: batches from walker p to worker c, in chunk order
	in := make([][]chan *stripeBatch, n)
	for c := range in {
		batons[c] = make(chan *baton, 1)
		in[c] = make([]chan *stripeBatch, n)
		for p := range in[c] {
			if p != c {
				in[c][p] = make(chan *stripeBatch, 2*n+4)
			}
		}
	}
	final := make(chan *baton, 1)
	batons[0] <- &baton{dec: decode.New(cfg.Decode)}
	if J == 0 {
		final <- <-batons[0]
	}

	var wg sync.WaitGroup
	var halt atomic.Bool
	for k := range workers {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			s := &striper{cfg: cfg, ctx: ctx, k: k, n: n, J: J, sr: sr, w: workers[k], status: status,
				batons: batons, in: in, final: final,
				bufs: make(chan *stripeBuf, leaseChunks+2*n+4), leases: newLeaseWindow(workers[k], leaseChunks), batches: make(chan *stripeBatch, 4*n*n+8),
				out: make([]*stripeBatch, n), halt: &halt}
			s.run()
		}(k)
	}
	wg.Wait()
	b := <-final
	sum := b.sum
	sum.Decode = b.dec.Stats()
	sum.PerWorker = make([]uint64, n)
	for i, w := range workers {
		s := w.Snapshot()
		sum.PerWorker[i] = s.Segments
		sum.Reassembly.Add(&s.Reassembly)
	}
	sum.Elapsed = time.Since(start)
	return sum, b.err
}

// striper is one worker of a striped run.
type striper struct {
	cfg    Config
	ctx    context.Context
	k, n   int
	J      int
	sr     *pcapfile.Striped
	w      *worker.Worker
	status *Status
	batons []chan *baton
	in     [][]chan *stripeBatch
	final  chan *baton

	bufs    chan *stripeBuf   // this walker's free chunk buffers
	batches chan *stripeBatch // this walker's free batches
	out     []*stripeBatch    // the batches of the chunk being walked
	halt    *atomic.Bool      // the walk stopped: read no more chunks
	leases  *leaseWindow

	nextRead int         // our next chunk to read
	ready    *stripeBuf  // our next chunk, read, waiting for the baton
	walked   []*prepared // our chunks walked, waiting to be fed (FIFO)
	spare    []*prepared // recycled
	stopped  bool        // seen on the baton: flush with ReasonShutdown
}

// prepared is a chunk this worker walked, with its own segments.
type prepared struct {
	own []reassembly.Segment
	now int64
	buf *stripeBuf
}

// maxWalked is how many of its chunks a worker walks ahead of feeding
// them: enough slack that the baton seldom waits for a busy worker.
const maxWalked = 2

// pollEvery is how many segments a worker feeds between looks for the
// baton, so that it is passed on soon after it arrives.
const pollEvery = 64

func (s *striper) run() {
	s.nextRead = s.k
	for j := 0; j < s.J; j++ {
		if j%s.n == s.k {
			for len(s.walked) == 0 {
				s.readAhead()
				s.walk(<-s.batons[s.k])
			}
			p := s.walked[0]
			s.walked = append(s.walked[:0], s.walked[1:]...)
			s.feed(p.own, p.now)
			s.leases.push(uint32(p.buf.j+1), p.buf)
			p.own, p.buf = p.own[:0], nil
			s.spare = append(s.spare, p)
			continue
		}
		// Read our next chunk now, not earlier: it should still be in
		// the cache when we walk it and when we feed it (reading it right
		// after the previous walk cost 20% with two workers).
		if len(s.walked) < maxWalked {
			s.readAhead()
		}
		var b *stripeBatch
		for b == nil {
			var baton chan *baton
			if s.canWalk() {
				baton = s.batons[s.k]
			}
			select {
			case b = <-s.in[s.k][j%s.n]:
			case bt := <-baton:
				s.walk(bt)
			}
		}
		s.feed(b.segs, b.now)
		s.leases.push(uint32(b.buf.j+1), b.buf)
		b.segs, b.buf = b.segs[:0], nil
		select {
		case b.home <- b:
		default:
		}
	}
	if s.stopped || s.ctx.Err() != nil {
		s.w.Flush(reassembly.ReasonShutdown)
	} else {
		s.w.Flush(reassembly.ReasonFlush)
	}
	s.leases.drain()
}

// feed feeds one chunk's segments, looking for the baton now and then.
func (s *striper) feed(segs []reassembly.Segment, now int64) {
	for i := range segs {
		if i%pollEvery == pollEvery-1 && s.canWalk() {
			select {
			case b := <-s.batons[s.k]:
				s.walk(b)
			default:
			}
		}
		s.w.Feed(&segs[i])
	}
	s.w.Advance(now)
	s.w.Publish()
}

func (s *striper) canWalk() bool { return s.ready != nil && len(s.walked) < maxWalked }

// readAhead reads our next chunk (if not read yet), outside the baton: the
// reads of all workers go on at the same time.
func (s *striper) readAhead() {
	if s.ready != nil || s.nextRead >= s.J {
		return
	}
	var buf *stripeBuf
	select {
	case buf = <-s.bufs:
	default:
		buf = &stripeBuf{home: s.bufs}
	}
	buf.refs.Store(int32(s.n))
	buf.err = nil
	if !s.halt.Load() && s.ctx.Err() == nil {
		buf.err = s.sr.Read(s.nextRead, &buf.c)
	}
	buf.j = s.nextRead
	s.nextRead += s.n
	s.ready = buf
}

// walk walks our ready chunk under baton b, hands the baton on, sends the
// other workers their segments and reads our next chunk.
func (s *striper) walk(b *baton) {
	buf := s.ready
	s.ready = nil
	var p *prepared
	if n := len(s.spare); n > 0 {
		p, s.spare = s.spare[n-1], s.spare[:n-1]
	} else {
		p = &prepared{}
	}
	p.buf = buf
	out := s.out
	for c := range out {
		if c == s.k {
			continue
		}
		select {
		case out[c] = <-s.batches:
		default:
			out[c] = &stripeBatch{home: s.batches}
		}
		out[c].buf = buf
	}
	s.decode(b, buf, p, out)
	if b.err != nil || b.stopped {
		s.halt.Store(true)
	}
	for c := range out {
		if c != s.k {
			out[c].now = b.now
		}
	}
	p.now = b.now
	s.stopped = s.stopped || b.stopped
	// hand the baton on before sending: the next walker need not wait
	if buf.j+1 < s.J {
		s.batons[(buf.j+1)%s.n] <- b
	} else {
		s.final <- b
	}
	for c := range out {
		if c != s.k {
			s.in[c][s.k] <- out[c]
		}
	}
	s.walked = append(s.walked, p)
}

// decode decodes chunk buf's packets in file order and sorts the segments.
func (s *striper) decode(b *baton, buf *stripeBuf, p *prepared, out []*stripeBatch) {
	if b.err != nil || b.stopped {
		return
	}
	if s.ctx.Err() != nil {
		b.stopped = true
		return
	}
	if buf.err != nil {
		b.err = buf.err
		return
	}
	cfg := &s.cfg
	for {
		pk, ok, err := s.sr.Next(&buf.c, &b.cur)
		if err != nil {
			if !errors.Is(err, pcapfile.ErrTruncated) {
				b.err = err
				return
			}
			b.sum.Warnings++
			if cfg.Warn != nil {
				cfg.Warn(err)
			}
			break
		}
		if !ok {
			break
		}
		b.sum.Packets++
		b.sum.Bytes += uint64(pk.CaptureLen)
		if pk.TS > b.now {
			b.now = pk.TS
		}
		if cfg.Accept != nil && !cfg.Accept(pk.Link, pk.Data, pk.OrigLen) {
			b.sum.Filtered++
			continue
		}
		var seg reassembly.Segment
		res, _ := b.dec.Decode(pk.Link, pk.Data, pk.OrigLen, pk.TS, &seg)
		if res != decode.ResultTCP {
			continue
		}
		if !inside(seg.Payload, pk.Data) {
			seg.Payload = append([]byte(nil), seg.Payload...)
			seg.Stable = true // a copy of its own, never reused
		} else {
			seg.Lease = uint32(buf.j + 1)
		}
		b.sum.Segments++
		key, _ := reassembly.KeyOf(&seg, cfg.Reassembly.IgnoreVLAN)
		if w := int(key.Hash() % uint64(s.n)); w == s.k {
			p.own = append(p.own, seg)
		} else {
			out[w].segs = append(out[w].segs, seg)
		}
	}
	if cfg.Started != nil {
		s.status.publish(&b.sum, b.dec)
	}
	if cfg.Progress != nil {
		cfg.Progress(b.sum.Packets, b.sum.Bytes)
	}
}
