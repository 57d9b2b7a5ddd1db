// Package live runs the engine on a network interface: N workers, each
// with its own AF_PACKET TPACKET_V3 ring (package afpacket) in one
// PACKET_FANOUT group, so the kernel hands both directions of a flow to the
// same worker; the capture program of package bpf (filter, non-TCP drop,
// flow bypass) attached to every socket; each worker decodes frames in
// place in its ring and feeds its own reassembly Table (engine/worker).
//
// The capture clock is the packets' kernel timestamps; a worker whose ring
// is quiet advances its Table to the wall clock (the clock the kernel
// stamps packets with) at every poll timeout, so idle connections expire
// on every worker alike.
//
// When ctx is cancelled, workers stop within a poll timeout (100 ms), take
// what their rings hold from before the cancel (the blocks the kernel
// opened until then; not the traffic that keeps coming), flush their Tables with
// reassembly.ReasonShutdown, and Run returns its Summary.
package live

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/outputs/pcapwriter"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

// Config tunes a Run.
type Config struct {
	// Interface to capture on. Required.
	Interface string
	// Workers is the number of sockets, rings and reassembly workers
	// (default: CPUs).
	Workers int
	// BlockSize, NumBlocks, BlockTimeout size each worker's ring (see
	// afpacket.Config; defaults 1 MiB, 64 blocks, 10 ms).
	BlockSize    int
	NumBlocks    int
	BlockTimeout time.Duration
	// NoPromisc leaves the interface out of promiscuous mode.
	NoPromisc bool
	// NetNS, if set, is a network namespace path (/run/netns/NAME) to
	// capture in; by default the caller's.
	NetNS string
	// Snaplen is the most bytes kept of a packet (default
	// bpf.DefaultSnaplen, 262144). Frames larger than a ring block are
	// cut to the block in any case.
	Snaplen int
	// Filter is a pcap-filter(7) expression, run in the kernel.
	Filter string
	// AllowNonTCP lets non-TCP packets through the kernel program (they
	// are then counted by the decoder and written by Pcap, nothing else).
	AllowNonTCP bool
	// BypassMapSize sizes the kernel's bypass map (see bpf.Config).
	BypassMapSize int
	// OuterFanout spreads packets over the workers with the kernel's flow
	// hash (PACKET_FANOUT_HASH), which sees only the outer headers of
	// tunnelled traffic. By default an eBPF program hashes the innermost
	// flow (bpf.FanoutProgram), so the flows inside one tunnel spread too.
	OuterFanout bool
	// MaxStreamBytes, if > 0, is the reassembly depth: once either
	// direction of a connection has delivered more bytes, the connection
	// is bypassed (the kernel cuts its packets to their headers: see
	// package bpf). Its state, sequence numbers and byte counts are still
	// followed; its payload is reported as gaps. It is un-bypassed when it
	// closes.
	MaxStreamBytes uint64
	// Reassembly configures each worker's Table; memory limits are per
	// worker.
	Reassembly reassembly.Config
	// Decode configures the decoders. With VerifyChecksums, packets the
	// kernel marks TP_STATUS_CSUMNOTREADY (sent by this host, checksum
	// left to the NIC) are not checked.
	Decode decode.Config
	// Handler returns the handler of worker i (called once per worker,
	// before any packet). Required. If the handler has a Flush() method
	// it is called whenever the worker's ring is idle (poll timeout), so
	// that buffered output of a quiet capture still comes out.
	Handler func(worker int) reassembly.Handler
	// Ready, if set, is called once the sockets are open, bound and
	// filtered, before the workers start: e.g. to drop privileges. An
	// error aborts the Run.
	Ready func(Info) error
	// Started, if set, is called once the workers are about to start,
	// with a handle whose Snapshot reads the counters at any time (e.g.
	// for metrics), also after Run returned.
	Started func(*Capture)
	// Status, if set, is called every StatusInterval (default 1s) from a
	// goroutine of its own.
	Status         func(Status)
	StatusInterval time.Duration
	// Pcap, if set, is called once after Ready and returns the writer
	// that receives the captured frames (a stripped VLAN tag put back),
	// or nil. Workers never wait for it (leave its Config.Wait off):
	// frames it cannot take are counted in Summary.PcapDropped. Run
	// closes it once the workers stopped.
	Pcap func() *pcapwriter.Writer
	// Warn receives non-fatal problems (a bypass map update that failed,
	// a pcap write error).
	Warn func(error)
}

// Info describes a capture that is set up.
type Info struct {
	Interface string
	Ifindex   int
	LinkType  decode.LinkType // LinkEthernet or LinkRaw
	Workers   int
	RingBytes int // per worker
}

// Status is a periodic view of the capture.
type Status struct {
	Elapsed  time.Duration // since the workers started
	Interval time.Duration // since the previous Status
	Packets  uint64        // frames read from the rings, total
	Bytes    uint64        // captured bytes, total
	PPS      float64       // frames per second over the interval
	Mbps     float64       // captured Mbit/s over the interval
	Received uint64        // kernel: packets the filter accepted, Drops included, total
	Drops    uint64        // kernel drops (ring full), total
	NewDrops uint64        // kernel drops in the interval
	Active   uint64        // open connections
	// Share is each worker's share of the interval's frames (0..1; all
	// zero when no frame came).
	Share    []float64
	Bypassed uint64 // connections bypassed so far
}

// Summary is what a Run did: offline.Summary's counters, where Packets and
// Bytes are the frames read from the rings and Filtered the packets the
// kernel program rejected (filter or non-TCP), plus the kernel's view.
type Summary struct {
	offline.Summary
	// Kernel is the sockets' PACKET_STATISTICS, summed: Packets the
	// filter accepted (Drops included), Drops lost to full rings.
	Kernel afpacket.Stats
	// PerWorkerKernel is Kernel per socket.
	PerWorkerKernel []afpacket.Stats
	// BPF is the capture program's counters.
	BPF bpf.Counters
	// BypassedConns counts connections bypassed (MaxStreamBytes, or a
	// handler's request: BypassRequester);
	// BypassErrors the bypass map updates that failed; BypassLost the
	// drop-mode connections whose map entry was gone at their close
	// (evicted from the LRU map: the packets the kernel dropped of them
	// are missing from their counts).
	BypassedConns uint64
	BypassErrors  uint64
	BypassLost    uint64
	// RingCut counts frames cut because they did not fit in a block.
	RingCut uint64
	// PcapWritten and PcapDropped count the frames of Config.Pcap.
	PcapWritten uint64
	PcapDropped uint64
	LinkType    decode.LinkType
}

// pollTimeout bounds how long a worker waits in poll(): the latency of
// shutdown and of the idle clock.
const pollTimeout = 100 * time.Millisecond

// Run captures on cfg.Interface until ctx is done or a worker fails. The
// Summary is valid whenever set-up succeeded, also with an error.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Handler == nil {
		return Summary{}, errors.New("live: Config.Handler is required")
	}
	if cfg.Interface == "" {
		return Summary{}, errors.New("live: no interface")
	}
	n := cfg.Workers
	if n <= 0 {
		n = runtime.NumCPU()
	}
	snaplen := cfg.Snaplen
	if snaplen <= 0 {
		snaplen = bpf.DefaultSnaplen
	}
	rcfg := afpacket.Config{
		Interface:    cfg.Interface,
		BlockSize:    cfg.BlockSize,
		NumBlocks:    cfg.NumBlocks,
		BlockTimeout: cfg.BlockTimeout,
		NoPromisc:    cfg.NoPromisc,
		FanoutMode:   fanoutMode(&cfg),
		NetNS:        cfg.NetNS,
	}
	rings, err := afpacket.OpenGroup(rcfg, n, nil)
	if err != nil {
		return Summary{}, err
	}
	closeRings := func() {
		for _, r := range rings {
			r.Close()
		}
	}
	var link decode.LinkType
	switch rings[0].LinkType() {
	case afpacket.LinkEthernet:
		link = decode.LinkEthernet
	case afpacket.LinkRaw:
		link = decode.LinkRaw
	default:
		closeRings()
		return Summary{}, fmt.Errorf("interface %s: link type ARPHRD %d not supported (Ethernet-like and raw IP only)", cfg.Interface, rings[0].HardwareType())
	}
	if err := setFanout(&cfg, rings, link); err != nil {
		closeRings()
		return Summary{}, err
	}
	prog, err := bpf.Load(bpf.Config{
		Filter:        cfg.Filter,
		AllowNonTCP:   cfg.AllowNonTCP,
		BypassMapSize: cfg.BypassMapSize,
		LinkType:      int(link),
		Snaplen:       snaplen,
		// a dropping bypass shows the Table a packet well within its
		// idle timeout, so that the connection does not expire
		DropPassInterval: dropPassInterval(cfg.Reassembly.IdleTimeout),
	})
	if err != nil {
		closeRings()
		if isPerm(err) {
			return Summary{}, &afpacket.CapError{Step: "loading the eBPF capture program", Cap: "CAP_BPF (or CAP_SYS_ADMIN)", Err: unix.EPERM}
		}
		return Summary{}, err
	}
	defer prog.Close()
	for _, r := range rings {
		if err := prog.Attach(r.FD()); err != nil {
			closeRings()
			return Summary{}, err
		}
	}
	defer closeRings()

	info := Info{
		Interface: cfg.Interface,
		Ifindex:   rings[0].Ifindex(),
		LinkType:  link,
		Workers:   n,
		RingBytes: rings[0].BlockSize() * rings[0].NumBlocks(),
	}
	if cfg.Ready != nil {
		if err := cfg.Ready(info); err != nil {
			return Summary{}, err
		}
	}

	var pw *pcapwriter.Writer
	if cfg.Pcap != nil {
		pw = cfg.Pcap()
	}

	start := time.Now()
	ws := make([]*lworker, n)
	for i := range ws {
		ws[i] = newLWorker(i, rings[i], link, &cfg, prog, pw)
	}
	c := &Capture{ws: ws, rings: rings, prog: prog, pw: pw, link: link, start: start}
	if cfg.Started != nil {
		cfg.Started(c)
	}
	var stopAt atomic.Int64 // Unix ns of the stop; 0 while running
	var wg sync.WaitGroup
	errs := make([]error, n)
	failed := make(chan struct{}, n)
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run(&stopAt)
			if errs[i] != nil {
				failed <- struct{}{}
			}
		}()
	}

	statusDone := make(chan struct{})
	statusStop := make(chan struct{})
	go func() {
		defer close(statusDone)
		if cfg.Status == nil {
			<-statusStop
			return
		}
		every := cfg.StatusInterval
		if every <= 0 {
			every = time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		st := newStatusState(ws, start)
		for {
			select {
			case <-statusStop:
				return
			case now := <-t.C:
				cfg.Status(st.next(now))
			}
		}
	}()

	select {
	case <-ctx.Done():
	case <-failed:
	}
	stopAt.Store(time.Now().UnixNano())
	wg.Wait()
	close(statusStop)
	<-statusDone
	if pw != nil {
		_ = pw.Close() // its errors went to its Warn
	}

	c.mu.Lock()
	sum := c.snapshotLocked()
	c.final = &sum
	c.mu.Unlock()
	return sum, firstErrors(errs)
}

// firstErrors joins the distinct worker errors (every worker usually
// reports the same one).
func firstErrors(errs []error) error {
	var out []error
	seen := map[string]bool{}
	for _, err := range errs {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

// Capture is a running capture, handed to Config.Started.
type Capture struct {
	ws    []*lworker
	rings []*afpacket.Ring
	prog  *bpf.Program
	pw    *pcapwriter.Writer
	link  decode.LinkType
	start time.Time

	mu    sync.Mutex
	final *Summary // set when Run returns
}

// Snapshot returns the counters so far, from any goroutine (the reassembly
// and decoder counters are those of each worker's last block). Elapsed is
// the time since the workers started. Once Run has returned it returns
// Run's Summary.
func (c *Capture) Snapshot() Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil {
		return *c.final
	}
	return c.snapshotLocked()
}

func (c *Capture) snapshotLocked() Summary {
	n := len(c.ws)
	var sum Summary
	sum.LinkType = c.link
	sum.PerWorker = make([]uint64, n)
	sum.PerWorkerKernel = make([]afpacket.Stats, n)
	for i, w := range c.ws {
		s := w.w.Snapshot()
		sum.PerWorker[i] = s.Segments
		sum.Segments += s.Segments
		sum.Reassembly.Add(&s.Reassembly)
		w.pubMu.Lock()
		sum.Decode.Add(&w.pubDecode)
		sum.RingCut += w.pubCut
		sum.BypassErrors += w.pubBypassErrs
		w.pubMu.Unlock()
		sum.Packets += w.frames.Load()
		sum.Bytes += w.bytes.Load()
		if w.bp != nil {
			sum.BypassedConns += w.bp.conns.Load()
			sum.BypassLost += w.bp.lost.Load()
		}
		ks, _ := c.rings[i].Stats()
		sum.PerWorkerKernel[i] = ks
		sum.Kernel.Add(ks)
	}
	if bc, err := c.prog.Counters(); err == nil {
		sum.BPF = bc
		sum.Filtered = bc.Filtered + bc.NonTCP
	}
	if c.pw != nil {
		ps := c.pw.Stats()
		sum.PcapWritten = ps.Written
		sum.PcapDropped = ps.Dropped + ps.Mismatch
	}
	sum.Elapsed = time.Since(c.start)
	return sum
}

func isPerm(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) && !isVerifier(err)
}

// isVerifier tells a verifier rejection (also EACCES) from a refusal.
func isVerifier(err error) bool {
	var ve *ebpf.VerifierError
	return errors.As(err, &ve)
}
