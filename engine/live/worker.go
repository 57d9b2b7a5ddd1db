package live

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/outputs/pcapwriter"
	"github.com/fastsniff/fastsniff/reassembly"
)

// flusher is the optional Flush of a handler (connlog, flowfiles).
type flusher interface{ Flush() }

// lworker is one live worker: a ring, its decoders and its Table.
type lworker struct {
	id        int
	ring      *afpacket.Ring
	link      decode.LinkType
	w         *worker.Worker
	dec       *decode.Decoder
	decNoCsum *decode.Decoder // nil unless checksums are verified
	seg       reassembly.Segment
	bp        *bypassHandler // nil without MaxStreamBytes
	flush     flusher
	pcap      *pcapwriter.Sink // nil without Config.Pcap

	cut   uint64
	lease uint32        // of the block being processed (reassembly.Segment.Lease)
	hold  int           // blocks kept under their lease after their walk (holdBlocks)
	tov   time.Duration // the ring's block timeout
	held  []uint32      // their leases, oldest first (hold.go)

	// published once per block for the status goroutine and Snapshot
	frames        atomic.Uint64
	bytes         atomic.Uint64
	pubMu         sync.Mutex
	pubDecode     decode.Stats
	pubCut        uint64
	pubBypassErrs uint64
}

func newLWorker(id int, ring *afpacket.Ring, link decode.LinkType, cfg *Config, prog *bpf.Program, pw *pcapwriter.Writer) *lworker {
	lw := &lworker{id: id, ring: ring, link: link, hold: holdFor(ring), tov: cfg.BlockTimeout}
	if lw.tov <= 0 {
		lw.tov = afpacket.DefaultBlockTimeout
	}
	if pw != nil {
		lw.pcap = pw.Sink()
	}
	lw.dec = decode.New(cfg.Decode)
	if cfg.Decode.VerifyChecksums {
		nc := cfg.Decode
		nc.VerifyChecksums = false
		lw.decNoCsum = decode.New(nc)
	}
	h := cfg.Handler(id)
	if f, ok := h.(flusher); ok {
		lw.flush = f
	}
	req, _ := h.(BypassRequester)
	if (cfg.MaxStreamBytes > 0 || req != nil) && prog != nil {
		max := cfg.MaxStreamBytes
		if max == 0 {
			max = math.MaxUint64 // only the handler's requests
		}
		lw.bp = newBypassHandler(h, prog, max, cfg.Reassembly.IgnoreVLAN, &lw.seg, cfg.Warn)
		if req != nil {
			req.SetBypass(lw.bp.bypassDrop)
		}
		h = lw.bp
	}
	lw.w = worker.New(id, cfg.Reassembly, h)
	return lw
}

// run is the worker's goroutine: blocks until stopAt is set (the Unix ns
// of the stop), then the blocks opened before the stop, then the Table is
// flushed.
func (lw *lworker) run(stopAt *atomic.Int64) error {
	var err error
	for stopAt.Load() == 0 {
		b, ok, nerr := lw.ring.Next(pollTimeout)
		if nerr != nil {
			err = nerr
			break
		}
		if !ok {
			lw.releaseHeld()
			lw.idle(time.Now().UnixNano())
			continue
		}
		if lw.block(&b) {
			lw.ring.Release()
		}
	}
	if err == nil {
		drain(lw.ring.Next, stopAt.Load(), lw.tov+10*time.Millisecond, lw.ring.NumBlocks(), func(b *afpacket.Block) {
			if lw.block(b) {
				lw.ring.Release()
			}
		})
	}
	lw.w.Flush(reassembly.ReasonShutdown)
	lw.releaseHeld()
	lw.publish()
	lw.sendPcap()
	if lw.flush != nil {
		lw.flush.Flush()
	}
	return err
}

// drain gives process the blocks that next returns, up to max (one lap of
// the ring), until one the kernel opened after stop (Unix ns): that one and
// the rest hold only traffic that came after the stop, and under a flood
// taking them would chase it for a whole lap. The block being filled at the
// stop is handed over within a block timeout, so drain waits up to wait
// for it; a quiet ring costs the wait. It returns the blocks processed.
func drain(next func(time.Duration) (afpacket.Block, bool, error), stop int64, wait time.Duration, max int, process func(*afpacket.Block)) int {
	last := time.Now().Add(wait)
	n := 0
	for ; n < max; n++ {
		timeout := time.Until(last)
		if timeout <= 0 {
			timeout = -1 // only what is ready
		}
		b, ok, err := next(timeout)
		if err != nil || !ok || b.FirstTS() > stop {
			break
		}
		process(&b)
	}
	return n
}

// idle moves the clock of a quiet worker and pushes buffered output out.
func (lw *lworker) idle(now int64) {
	lw.w.Advance(now)
	lw.w.Publish()
	if lw.flush != nil {
		lw.flush.Flush()
	}
	lw.sendPcap() // a quiet ring: what -w holds goes out
}

// block processes every frame of b. The frames are decoded in place and
// their payloads fed under a lease on the block: what the peer ACKs
// within the block (or the next lw.hold blocks) is delivered from the ring
// itself; what still waits when the lease ends is copied then. It reports
// whether the caller gives the oldest block it holds back to the kernel.
func (lw *lworker) block(b *afpacket.Block) bool {
	var f afpacket.Frame
	var frames, bytes uint64
	now := b.LastTS()
	seg := &lw.seg
	if lw.lease++; lw.lease == 0 {
		lw.lease = 1 // 0 is no lease
	}
	for b.Next(&f) {
		frames++
		bytes += uint64(len(f.Data))
		if f.Cut() {
			lw.cut++
		}
		if lw.pcap != nil {
			lw.writePcap(&f)
		}
		dec := lw.dec
		if lw.decNoCsum != nil && f.ChecksumNotReady() {
			dec = lw.decNoCsum
		}
		res, _ := dec.Decode(lw.link, f.Data, f.Len, f.TS, seg)
		if res != decode.ResultTCP {
			continue
		}
		seg.Lease = 0
		if inFrame(seg.Payload, f.Data) {
			seg.Lease = lw.lease
		}
		if tci, _, ok := f.VLAN(); ok {
			pushOuterVLAN(&seg.VLANs, tci)
		}
		lw.w.Feed(seg)
		if f.TS > now {
			now = f.TS
		}
	}
	release := lw.retire()
	lw.w.Advance(now)
	lw.w.Publish()
	lw.frames.Add(frames)
	lw.bytes.Add(bytes)
	lw.publish()
	if lw.pcap != nil {
		lw.pcap.FlushAfter(now, pcapHold)
	}
	return release
}

// publish makes the decoder counters visible to Snapshot.
func (lw *lworker) publish() {
	lw.pubMu.Lock()
	lw.pubDecode = lw.dec.Stats()
	if lw.decNoCsum != nil {
		ds := lw.decNoCsum.Stats()
		lw.pubDecode.Add(&ds)
	}
	lw.pubCut = lw.cut
	if lw.bp != nil {
		lw.pubBypassErrs = lw.bp.errs
	}
	lw.pubMu.Unlock()
}

// pushOuterVLAN puts the tag the kernel stripped in front of the tags the
// decoder found in the packet (dropping the innermost if there are
// already reassembly.MaxVLANs).
func pushOuterVLAN(v *reassembly.VLANs, tci uint16) {
	n := int(v.N)
	if n == reassembly.MaxVLANs {
		n--
	}
	copy(v.IDs[1:n+1], v.IDs[:n])
	v.IDs[0] = tci & 0x0fff
	v.N = uint8(n + 1)
}

// inFrame reports whether b lies in frame (not in the decoder's buffer of
// a reassembled IP datagram, which the next packet reuses).
func inFrame(b, frame []byte) bool {
	if len(b) == 0 || len(frame) == 0 {
		return false
	}
	f := uintptr(unsafe.Pointer(unsafe.SliceData(frame)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= f && p < f+uintptr(len(frame))
}
