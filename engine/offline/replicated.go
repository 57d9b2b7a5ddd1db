package offline

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Replicated reading, for plain pcap files with up to maxReplicas workers
// (and always for one worker):
// every worker reads and decodes the whole capture itself and feeds its
// Table only the segments of its flows (flow hash modulo the number of
// workers). Nothing crosses between workers — no batches, no hand-offs,
// no packet bytes read by another core — and each worker sees every
// packet in file order, so IP fragments are reassembled as with one
// reader. The cost is that each worker reads and decodes every packet:
// for a plain pcap file in the page cache that is a small part of the
// work (reading the 768 MB benchmark capture takes 45 ms, decoding 1M
// packets 15 ms), while the reassembly, most of it, is shared. Compressed
// and pcapng files, whose reading costs more, go through one reader
// instead (Config.SingleReader).
//
// Worker 0 is the lead: it reports warnings, progress and the status; the
// others see the same packets and the same errors and stay quiet.
//
// Two costs of the design, accepted: every worker's decoder holds the
// pending IP fragments of the whole capture (bounded as with one reader,
// times the workers), and a file that grows while it is read (a capture
// still being written) may end at a different packet for each worker.

func runReplicated(ctx context.Context, cfg Config, n, bs int, paths []string) (Summary, error) {
	start := time.Now()
	workers := make([]*worker.Worker, n)
	for i := range workers {
		workers[i] = worker.New(i, cfg.Reassembly, cfg.Handler(i))
	}
	status := &Status{workers: workers, replicated: true, own: make([]decode.Stats, n)}
	if cfg.Started != nil {
		cfg.Started(status)
	}
	type result struct {
		sum Summary
		own decode.Stats // decoder counts of the worker's own common frames
		err error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	for k := 1; k < n; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			res[k].sum, res[k].own, res[k].err = replica(ctx, &cfg, k, n, bs, workers[k], status, paths)
		}(k)
	}
	res[0].sum, res[0].own, res[0].err = replica(ctx, &cfg, 0, n, bs, workers[0], status, paths)
	wg.Wait()
	sum := res[0].sum
	for k := range res {
		sum.Decode.Add(&res[k].own) // the common frames each decoded
	}
	sum.Segments = 0
	sum.PerWorker = make([]uint64, n)
	for i, w := range workers {
		s := w.Snapshot()
		sum.PerWorker[i] = s.Segments
		sum.Segments += s.Segments
		sum.Reassembly.Add(&s.Reassembly)
	}
	sum.Elapsed = time.Since(start)
	return sum, res[0].err
}

// replica is worker k's run over the whole capture (worker 0 is the
// lead). It returns the decoder counts of the common frames it
// decoded as their owner apart (not in the Summary).
func replica(ctx context.Context, cfg *Config, k, n, bs int, w *worker.Worker, status *Status, paths []string) (Summary, decode.Stats, error) {
	var sum Summary
	lead := k == 0
	r, err := pcapfile.Open(paths...)
	if err != nil {
		w.Flush(reassembly.ReasonFlush)
		return sum, decode.Stats{}, err
	}
	defer r.Close()
	dec := decode.New(cfg.Decode)
	leases := newLeaseWindow(w, leaseArenas)
	// arenas come back through free once their lease ended; all on this
	// goroutine, so a slice will do
	var free []*chunk
	pool := make(chan *chunk, leaseArenas+2)
	pkts := make([]pcapfile.Packet, bs)
	var accept Accept
	if cfg.Filter != nil {
		accept = cfg.Filter()
	}
	var tap func(*pcapfile.Packet, bool)
	if lead {
		tap = cfg.Tap // every worker sees every packet: the lead shows them
	}
	// skip: each worker decodes only its own common frames (owner.go),
	// with own, so that each is counted once; not while dec holds IP
	// fragments (fragsHeld), whose expiry every packet's Decode drives,
	// nor with a tap, which must see every packet decoded
	skip := n > 1 && cfg.Tap == nil
	own := decode.New(cfg.Decode)
	fragsHeld := false
	var id uint32
	var runErr error
	stopped := false
	for {
		if ctx.Err() != nil {
			stopped = true
			break
		}
		for len(pool) > 0 {
			free = append(free, <-pool)
		}
		var ch *chunk
		if m := len(free); m > 0 {
			ch, free = free[m-1], free[:m-1]
		} else {
			ch = &chunk{pool: pool}
		}
		if id++; id == 0 {
			id = 1 // 0 is no lease
		}
		ch.id = id
		ch.refs.Store(1)
		var cnt int
		cnt, ch.buf, err = r.ReadBatchInto(pkts, ch.buf)
		if err != nil {
			free = append(free, ch)
			if err == io.EOF {
				break
			}
			if errors.Is(err, pcapfile.ErrTruncated) {
				sum.Warnings++
				if lead && cfg.Warn != nil {
					cfg.Warn(err)
				}
				continue
			}
			runErr = err
			break
		}
		var now int64
		// one segment for the batch: Decode sets every field of it
		var seg reassembly.Segment
		for i := 0; i < cnt; i++ {
			p := &pkts[i]
			now = max(now, p.TS)
			d := dec
			if skip && !fragsHeld {
				// the common frame: only its owner decodes it (owner.go)
				if o, ok := rawOwner(p.Link, p.Data, n); ok {
					if o != k {
						countOnly(p, accept, &sum)
						continue
					}
					d = own
				}
			}
			res := decodeOne(p, accept, tap, d, &sum, &seg)
			if res == decode.ResultFragment {
				fragsHeld = true
			}
			if res != decode.ResultTCP {
				continue
			}
			// (a frame own decoded is this worker's: rawOwner is FlowHash)
			if d == dec && n > 1 && int(reassembly.FlowHash(&seg, flowHashNoVLAN(&cfg.Reassembly))%uint64(n)) != k {
				continue // another worker's flow
			}
			lend(&seg, p, ch.id)
			sum.Segments++
			w.Feed(&seg)
		}
		if fragsHeld {
			// once per batch that saw a fragment: are any still held?
			fragsHeld = dec.Stats().FragPending > 0
		}
		if skip && cfg.Started != nil {
			status.publishOwn(k, own)
		}
		w.Advance(now)
		w.Publish()
		leases.push(ch.id, ch)
		if lead {
			if cfg.Started != nil {
				status.publish(&sum, dec)
			}
			if cfg.Progress != nil {
				cfg.Progress(sum.Packets, sum.Bytes)
			}
		}
	}
	if stopped {
		w.Flush(reassembly.ReasonShutdown)
	} else {
		w.Flush(reassembly.ReasonFlush)
	}
	leases.drain()
	sum.Decode = dec.Stats()
	return sum, own.Stats(), runErr
}
