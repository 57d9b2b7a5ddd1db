package reassembly

// Stats are a Table's counters. They only grow (Active and Buffered
// excepted); a worker's caller may add several Tables' Stats together.
type Stats struct {
	Packets         uint64 // segments fed
	Bytes           uint64 // payload bytes fed
	Delivered       uint64 // bytes handed to the Handler
	Duplicates      uint64 // segments whose bytes were all delivered or buffered already
	Overlaps        uint64 // segments that overlapped buffered bytes in part or whole
	Conflicts       uint64 // overlaps whose bytes differed from the buffered copy
	Gaps            uint64 // holes reported to the Handler
	MissedBytes     uint64 // bytes in those holes
	Truncated       uint64 // payload bytes cut by the snap length
	OutOfWindow     uint64 // segments too far from the stream to be believed
	IgnoredRST      uint64 // RSTs outside the window (e.g. injected)
	RSTPayload      uint64 // bytes carried on RST segments (never delivered)
	Forced          uint64 // times a limit forced unACKed delivery
	ForcedBytes     uint64 // bytes delivered that way
	Unacked         uint64 // bytes delivered without the peer's ACK (all causes)
	Ghosts          uint64 // packets of closed connections absorbed while lingering
	NoSYN           uint64 // packets dropped because NoMidstream is set
	VLANJoined      uint64 // connections whose directions were joined across VLAN stacks
	Opened          uint64 // connections created
	Midstream       uint64 // of which picked up without a SYN
	Closed          [numReasons]uint64
	Active          uint64 // connections open now (half-open ones included)
	HalfOpen        uint64 // of which half-open, held in compact form
	EvictedHalfOpen uint64 // half-open connections evicted (MaxHalfOpen)
	EvictedBuffered uint64 // connections evicted while holding buffered bytes (delivered first)
	Buffered        uint64 // bytes buffered now
	MaxBuffered     uint64 // high-water mark of Buffered
	BufAllocs       uint64 // buffers allocated (steady state: stops growing)
	OversizeSegs    uint64 // segments above the largest pooled buffer size
	LeaseCopied     uint64 // leased payload bytes copied when their lease ended (Segment.Lease)
	BypassedBytes   uint64 // stream bytes of closed bypassed connections not reassembled (DirStats.Bypassed)
}

// Add adds o's counters to s (Active and Buffered too: totals over
// workers).
func (s *Stats) Add(o *Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.Delivered += o.Delivered
	s.Duplicates += o.Duplicates
	s.Overlaps += o.Overlaps
	s.Conflicts += o.Conflicts
	s.Gaps += o.Gaps
	s.MissedBytes += o.MissedBytes
	s.Truncated += o.Truncated
	s.OutOfWindow += o.OutOfWindow
	s.IgnoredRST += o.IgnoredRST
	s.RSTPayload += o.RSTPayload
	s.Forced += o.Forced
	s.ForcedBytes += o.ForcedBytes
	s.Unacked += o.Unacked
	s.Ghosts += o.Ghosts
	s.NoSYN += o.NoSYN
	s.Opened += o.Opened
	s.Midstream += o.Midstream
	s.VLANJoined += o.VLANJoined
	for i := range s.Closed {
		s.Closed[i] += o.Closed[i]
	}
	s.Active += o.Active
	s.HalfOpen += o.HalfOpen
	s.EvictedHalfOpen += o.EvictedHalfOpen
	s.EvictedBuffered += o.EvictedBuffered
	s.Buffered += o.Buffered
	if o.MaxBuffered > s.MaxBuffered {
		s.MaxBuffered = o.MaxBuffered
	}
	s.BufAllocs += o.BufAllocs
	s.OversizeSegs += o.OversizeSegs
	s.LeaseCopied += o.LeaseCopied
	s.BypassedBytes += o.BypassedBytes
}

// ClosedBy returns how many connections closed for reason r.
func (s *Stats) ClosedBy(r Reason) uint64 {
	if r < numReasons {
		return s.Closed[r]
	}
	return 0
}
