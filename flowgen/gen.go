package flowgen

import (
	"cmp"
	"crypto/sha256"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Epoch is the capture time of the first packet: 2020-01-01T00:00:00Z.
const Epoch int64 = 1577836800 * 1e9

// pkt is a packet as generated: its payload is described, not stored.
type pkt struct {
	ts      int64
	off     uint64 // stream offset of the first payload byte
	seq     uint32
	ack     uint32
	n       int32 // payload length
	conn    int32
	flags   uint8
	dir     uint8
	variant uint8 // 0: true bytes; else a conflicting copy
	win     uint16
}

// Capture is a generated capture: packets in capture order and the truth
// about every connection, sorted by the time of its first captured packet.
type Capture struct {
	// Conns is the truth, in order of each connection's first captured
	// packet (ties broken by generation order).
	Conns []Conn

	cfg  Config
	pkts []pkt
}

// Generate makes the capture that cfg describes. It returns an error only
// for an invalid Config.
func Generate(cfg Config) (*Capture, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := newRNG(mix64(uint64(cfg.Seed) ^ 0x243f6a8885a308d3))
	sl := newSlots(cfg.Concurrency, g)

	var (
		conns []Conn
		lists [][]pkt
		total int
		tuple int
	)
	want := func() bool {
		if cfg.Packets > 0 {
			return total < cfg.Packets
		}
		return len(conns) < cfg.Conns
	}
	for want() {
		i := len(conns)
		s, start := sl.take(g)
		c := newSim(&cfg, i, tuple, start)
		tuple++
		// A port-reuse pair needs room for two connections.
		reuse := c.g.chance(cfg.PortReuse) && (cfg.Packets > 0 || i+2 <= cfg.Conns)
		c.plan(reuse)
		c.run()
		conns = append(conns, c.conn)
		lists = append(lists, c.out)
		total += len(c.out)
		end := c.ts
		if reuse && want() {
			gap := c.g.micros(2_000_000, 4_000_000)
			c2 := newSim(&cfg, i+1, tuple-1, end+gap)
			c2.reuseOf(c)
			c2.plan(false)
			c2.run()
			conns = append(conns, c2.conn)
			lists = append(lists, c2.out)
			total += len(c2.out)
			end = c2.ts
		}
		sl.release(s, end)
	}

	// Merge into capture order: by time, then by generation order.
	all := make([]pkt, 0, total)
	for _, l := range lists {
		all = append(all, l...)
	}
	lists = nil
	slices.SortFunc(all, func(a, b pkt) int {
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.conn, b.conn)
	})
	// Renumber connections by first captured packet.
	newIdx := make([]int32, len(conns))
	for i := range newIdx {
		newIdx[i] = -1
	}
	order := make([]Conn, 0, len(conns))
	for i := range all {
		p := &all[i]
		if newIdx[p.conn] < 0 {
			newIdx[p.conn] = int32(len(order))
			order = append(order, conns[p.conn])
		}
		p.conn = newIdx[p.conn]
	}
	cp := &Capture{Conns: order, cfg: cfg, pkts: all}
	cp.finishTruth()
	return cp, nil
}

// slots schedule connections: Concurrency slots, each running one
// connection after another.
type slots struct {
	free []int64 // per slot: time it is free
}

func newSlots(n int, g rng) *slots {
	s := &slots{free: make([]int64, n)}
	t := Epoch
	for i := range s.free {
		s.free[i] = t
		t += g.micros(0, 200)
	}
	return s
}

// take returns the slot free first and the start time of its next
// connection.
func (s *slots) take(g rng) (int, int64) {
	best := 0
	for i, f := range s.free {
		if f < s.free[best] {
			best = i
		}
	}
	return best, s.free[best] + g.micros(1, 500)
}

func (s *slots) release(i int, end int64) { s.free[i] = end }

// Segment kinds: at most one impairment per data segment.
type segKind uint8

const (
	kNone segKind = iota
	kLoss
	kCapLoss
	kDup
	kOvSame
	kOvDiff
)

type dseg struct {
	off   uint64
	n     int
	kind  segKind
	fin   bool
	prevN int // length of the previous segment (stream order) if it was captured, else 0
}

type msg struct {
	dir     int
	n       uint64
	impair  bool // impairments allowed
	skipAck bool // the receiver's last ACK rides on its next data segment
	fin     bool // the last segment carries the sender's FIN
}

// recv is what the receiver of one direction has got.
type recv struct {
	nxt        uint64      // next stream offset expected
	ooo        [][2]uint64 // out-of-order ranges held
	finPending bool
	finOff     uint64
}

func (r *recv) arrive(off, end uint64) {
	if off > r.nxt {
		r.ooo = append(r.ooo, [2]uint64{off, end})
		return
	}
	r.nxt = max(r.nxt, end)
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(r.ooo); i++ {
			if r.ooo[i][0] <= r.nxt {
				r.nxt = max(r.nxt, r.ooo[i][1])
				r.ooo = append(r.ooo[:i], r.ooo[i+1:]...)
				i--
				changed = true
			}
		}
	}
}

func (r *recv) finAcked() bool { return r.finPending && r.nxt >= r.finOff }

// sim simulates one connection.
type sim struct {
	cfg  *Config
	g    rng
	idx  int32
	conn Conn
	out  []pkt
	ts   int64
	rtt  int64

	isn     [2]uint32
	snd     [2]uint64 // next new stream offset per sender
	finSent [2]bool
	rcv     [2]recv // rcv[d]: the peer's view of d's bytes
	cut     [2]uint64
	gaps    [2][]Gap
	prev    [2]int    // last segment length per sender; 0 if capture-lost
	ackCap  [2]uint32 // ackCap[d]: the latest ACK of d's bytes in the capture
	prevISN [2]uint32 // of the connection a reused one follows

	msgs    []msg
	cutAt   int // midstream: packets before message cutAt+1 are not captured
	cutting bool
	capDir  [2]bool
	noLoss  bool // no capture loss in this connection
	closer  int
	rstAt   int // EndRST: RST after message rstAt
}

func newSim(cfg *Config, i, tuple int, start int64) *sim {
	seed := mix64(uint64(cfg.Seed) ^ mix64(uint64(i)+1))
	s := &sim{cfg: cfg, g: newRNG(seed), idx: int32(i), ts: start}
	s.conn.seed = seed
	g := s.g
	s.rtt = int64(g.logUniform(100, 40_000)) * 1000
	v6 := g.chance(cfg.IPv6Share)
	if g.chance(cfg.VLANShare) {
		s.conn.VLAN = uint16(g.between(1, 4094))
		if cfg.AsymVLAN > 0 && g.chance(cfg.AsymVLAN) {
			s.conn.RespVLANSet = true
			if g.chance(0.5) {
				s.conn.RespVLAN = s.conn.VLAN%4094 + 1
			}
		}
	}
	srv := g.between(0, 63)
	ports := [...]uint16{80, 443, 443, 443, 8080, 22, 25, 3306, 5432, 6379, 9092, 8443}
	sport := ports[g.r.IntN(len(ports))]
	cport := uint16(32768 + (tuple*7919)%32768)
	ca := tuple/32768 + 1
	if v6 {
		s.conn.Client = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(ca >> 24), byte(ca >> 16), byte(ca >> 8), byte(ca)}), cport)
		s.conn.Server = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(srv + 1)}), sport)
	} else {
		a := (uint32(198)<<24 | uint32(18)<<16) + uint32(ca) // 198.18.0.0/15

		s.conn.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), cport)
		s.conn.Server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(srv + 1)}), sport)
	}
	s.capDir = [2]bool{true, true}
	return s
}

// reuseOf makes s a new connection on prev's 4-tuple.
func (s *sim) reuseOf(prev *sim) {
	s.conn.Client, s.conn.Server, s.conn.VLAN = prev.conn.Client, prev.conn.Server, prev.conn.VLAN
	s.conn.RespVLAN, s.conn.RespVLANSet = prev.conn.RespVLAN, prev.conn.RespVLANSet
	s.conn.Reused = true
	s.prevISN = prev.isn
}

// plan draws the connection's shape: sizes, messages, ISNs and its
// per-connection impairments. first: it is the first of a port-reuse pair,
// so it must close cleanly with FIN.
func (s *sim) plan(first bool) {
	cfg, g := s.cfg, s.g
	var L [2]uint64
	for d := range L {
		L[d] = uint64(g.logUniform(cfg.MinBytes, cfg.MaxBytes))
	}
	if g.chance(cfg.LargeShare) {
		L[1] = uint64(g.logUniform(cfg.MaxBytes, cfg.LargeMaxBytes))
	}
	// Messages: alternate client, server, with 1 to 3 per direction.
	var parts [2][]uint64
	for d := range parts {
		if L[d] == 0 {
			continue
		}
		k := uint64(g.between(1, 3))
		k = min(k, L[d])
		cuts := []uint64{0, L[d]}
		for range k - 1 {
			cuts = append(cuts, 1+g.r.Uint64N(L[d]-1))
		}
		slices.Sort(cuts)
		for j := 1; j < len(cuts); j++ {
			if n := cuts[j] - cuts[j-1]; n > 0 {
				parts[d] = append(parts[d], n)
			}
		}
	}
	for i := 0; i < len(parts[0]) || i < len(parts[1]); i++ {
		for d := range parts {
			if i < len(parts[d]) {
				s.msgs = append(s.msgs, msg{dir: d, n: parts[d][i], impair: true})
			}
		}
	}

	// ISNs. A reused 4-tuple gets new ones (a SYN with the old ISN is a
	// retransmission), so no wrap there: it could repeat 0xffffffff.
	s.conn.Wrap = g.chance(cfg.WrapISN) && !s.conn.Reused
	for d := range s.isn {
		if s.conn.Wrap {
			k := uint64(0)
			if L[d] > 0 {
				k = g.r.Uint64N(min(L[d], 1<<20))
			}
			s.isn[d] = uint32(0xffffffff - k)
		} else {
			s.isn[d] = g.r.Uint32()
			if s.conn.Reused && s.isn[d] == s.prevISN[d] {
				s.isn[d] += 1 << 30
			}
		}
	}
	s.conn.ISN = s.isn

	// Per-connection impairments.
	s.cutAt = -2
	s.conn.EndsWith = EndFIN
	if !first && !s.conn.Reused {
		switch {
		case g.chance(cfg.OneSided):
			s.conn.OneSided = true
			s.conn.OneSidedDir = g.between(0, 1)
			s.capDir[1-s.conn.OneSidedDir] = false
			s.noLoss = true
		case len(s.msgs) > 0 && g.chance(cfg.Midstream):
			s.conn.Midstream = true
			s.cutAt = g.between(-1, len(s.msgs)-2)
			s.cutting = true
		}
	}
	if !first {
		switch {
		case g.chance(cfg.RST):
			s.conn.EndsWith = EndRST
			// After message rstAt (-1: right after the handshake), past
			// the cut of a midstream connection.
			lo := min(max(s.cutAt+1, 0), len(s.msgs)-1)
			s.rstAt = g.between(lo, len(s.msgs)-1)
			s.msgs = s.msgs[:s.rstAt+1]
			s.conn.RSTBy = g.between(0, 1)
			if s.conn.OneSided {
				s.conn.RSTBy = s.conn.OneSidedDir
			}
		case g.chance(cfg.Open):
			s.conn.EndsWith = EndOpen
		}
	}
	s.closer = g.between(0, 1)

	// Per-message flags.
	seen := [2]bool{}
	for i := range s.msgs {
		m := &s.msgs[i]
		if s.conn.Midstream {
			// No impairment before the cut, nor on each direction's first
			// message after it, so that the first captured bytes of each
			// direction are in order.
			if i <= s.cutAt || !seen[m.dir] {
				m.impair = false
			}
			if i > s.cutAt {
				seen[m.dir] = true
			}
		}
		last := i == len(s.msgs)-1
		if !last && s.msgs[i+1].dir != m.dir && g.chance(0.5) {
			m.skipAck = true
		}
		if last && s.conn.EndsWith == EndFIN && m.dir == s.closer && !s.conn.Midstream && g.chance(0.3) {
			m.fin = true
		}
	}
}

func (s *sim) tick(ns int64) { s.ts += max(ns, 1000) }

// seqNext is the sequence number of the next thing d sends.
func (s *sim) seqNext(d int) uint32 {
	q := s.isn[d] + 1 + uint32(s.snd[d])
	if s.finSent[d] {
		q++
	}
	return q
}

// ackOf is the acknowledgment number d sends.
func (s *sim) ackOf(d int) uint32 {
	r := &s.rcv[1-d]
	a := s.isn[1-d] + 1 + uint32(r.nxt)
	if r.finAcked() {
		a++
	}
	return a
}

func (s *sim) emit(p pkt, captured bool) {
	if !captured || !s.capDir[p.dir] || s.cutting {
		return
	}
	p.ts = s.ts
	p.conn = s.idx
	if p.flags&ACK != 0 {
		s.ackCap[1-p.dir] = p.ack
	}
	if p.win == 0 {
		p.win = 65535
	}
	s.out = append(s.out, p)
}

func (s *sim) data(d int, off uint64, n int, flags uint8, variant uint8, captured bool) {
	s.emit(pkt{off: off, seq: s.isn[d] + 1 + uint32(off), ack: s.ackOf(d), n: int32(n), flags: flags | ACK, dir: uint8(d), variant: variant}, captured)
}

func (s *sim) pureAck(d int) {
	s.emit(pkt{seq: s.seqNext(d), ack: s.ackOf(d), flags: ACK, dir: uint8(d)}, true)
}

func (s *sim) run() {
	g := s.g
	// Handshake.
	s.emit(pkt{seq: s.isn[0], flags: SYN, dir: 0, win: 64240}, true)
	s.tick(s.rtt/2 + g.micros(1, 50))
	s.emit(pkt{seq: s.isn[1], ack: s.isn[0] + 1, flags: SYN | ACK, dir: 1, win: 65160}, true)
	s.tick(s.rtt/2 + g.micros(1, 50))
	s.pureAck(0)
	if s.cutAt == -1 {
		s.cutting = false
	}
	for i := range s.msgs {
		s.tick(s.rtt/4 + g.micros(5, 2000))
		s.message(i)
		if i == s.cutAt {
			s.cutting = false
			s.cut = s.snd
		}
	}
	switch s.conn.EndsWith {
	case EndFIN:
		s.close()
	case EndOpen:
		s.settleAcks()
	case EndRST:
		s.settleAcks()
		s.tick(g.micros(10, 5000))
		d := s.conn.RSTBy
		s.emit(pkt{seq: s.seqNext(d), ack: s.ackOf(d), flags: RST | ACK, dir: uint8(d), win: 0xffff}, true)
	}
	s.finishSim()
}

// settleAcks makes sure the capture holds each side's latest ACK: the
// last one may have ridden on a data segment the capture missed, and no FIN
// will repeat it. Without it the capture would not show that the bytes of a
// capture-lost segment at the end were ever sent.
func (s *sim) settleAcks() {
	for d := range 2 {
		if s.capDir[1-d] && s.ackCap[d] != s.ackOf(1-d) {
			s.tick(s.rtt/2 + s.g.micros(1, 200))
			s.pureAck(1 - d)
		}
	}
}

func (s *sim) close() {
	g := s.g
	a, b := s.closer, 1-s.closer
	if !s.finSent[a] {
		s.tick(g.micros(5, 1000))
		s.emit(pkt{seq: s.seqNext(a), ack: s.ackOf(a), flags: FIN | ACK, dir: uint8(a)}, true)
		s.finSent[a] = true
		s.rcv[a].finPending, s.rcv[a].finOff = true, s.snd[a]
	}
	s.tick(s.rtt/2 + g.micros(1, 50))
	if g.chance(0.5) {
		s.pureAck(b)
		s.tick(g.micros(5, 500))
	}
	s.emit(pkt{seq: s.seqNext(b), ack: s.ackOf(b), flags: FIN | ACK, dir: uint8(b)}, true)
	s.finSent[b] = true
	s.rcv[b].finPending, s.rcv[b].finOff = true, s.snd[b]
	s.tick(s.rtt/2 + g.micros(1, 50))
	s.pureAck(a)
}

// message sends message i in flights, with the receiver's ACKs.
func (s *sim) message(i int) {
	m := s.msgs[i]
	d := m.dir
	end := s.snd[d] + m.n
	for s.snd[d] < end {
		segs := s.flight(d, end, m.impair)
		lastSeg := &segs[len(segs)-1]
		if m.fin && lastSeg.off+uint64(lastSeg.n) == end && lastSeg.kind == kNone {
			lastSeg.fin = true
		}
		if m.impair && s.cfg.Reorder > 0 {
			for j := 0; j+1 < len(segs); j++ {
				if s.g.chance(s.cfg.Reorder) {
					segs[j], segs[j+1] = segs[j+1], segs[j]
					s.conn.Impairments.Reordered++
					j++
				}
			}
		}
		s.sendFlight(d, segs, end, s.snd[d] == end && m.skipAck)
	}
}

// flight cuts the next flight of d's bytes (up to end) into segments and
// draws their impairments.
func (s *sim) flight(d int, end uint64, impair bool) []dseg {
	cfg, g := s.cfg, s.g
	maxSegs := g.between(1, 10)
	var segs []dseg
	bytes := 0
	for len(segs) < maxSegs && s.snd[d] < end {
		size := cfg.MSS
		tiny, over := false, false
		if impair && g.chance(cfg.Tiny) {
			size, tiny = g.between(1, 8), true
		} else if impair && g.chance(cfg.Oversize) {
			size, over = min(g.between(2, 44)*cfg.MSS, maxSegment), true
		}
		size = int(min(uint64(size), end-s.snd[d]))
		if len(segs) > 0 && bytes+size > 65535 {
			break
		}
		if tiny {
			s.conn.Impairments.Tiny++
		}
		if over && size > cfg.MSS {
			s.conn.Impairments.Oversize++
		}
		sg := dseg{off: s.snd[d], n: size, prevN: s.prev[d]}
		if impair {
			u := g.r.Float64()
			capLoss := cfg.CaptureLoss
			if s.noLoss {
				capLoss = 0
			}
			switch {
			case u < cfg.Loss:
				sg.kind = kLoss
			case u < cfg.Loss+capLoss:
				sg.kind = kCapLoss
			case u < cfg.Loss+capLoss+cfg.Duplicate:
				sg.kind = kDup
			case u < cfg.Loss+capLoss+cfg.Duplicate+cfg.OverlapSame:
				sg.kind = kOvSame
			case u < cfg.Loss+capLoss+cfg.Duplicate+cfg.OverlapSame+cfg.OverlapDiff:
				sg.kind = kOvDiff
			}
		}
		segs = append(segs, sg)
		s.prev[d] = size
		if sg.kind == kCapLoss {
			s.prev[d] = 0
		}
		s.snd[d] += uint64(size)
		bytes += size
	}
	return segs
}

// sendFlight puts a flight on the wire with its impairments; the receiver
// ACKs every second segment and at the end (unless skipLast), and lost
// segments are retransmitted after its ACK.
func (s *sim) sendFlight(d int, segs []dseg, msgEnd uint64, skipLast bool) {
	g, r := s.g, 1-d
	imp := &s.conn.Impairments
	since := 0
	var lost []dseg
	flagsOf := func(sg dseg) uint8 {
		f := uint8(0)
		if sg.off+uint64(sg.n) == msgEnd {
			f |= PSH
		}
		if sg.fin {
			f |= FIN
		}
		return f
	}
	arrive := func(sg dseg) {
		s.rcv[d].arrive(sg.off, sg.off+uint64(sg.n))
		if sg.fin {
			s.finSent[d] = true
			s.rcv[d].finPending, s.rcv[d].finOff = true, sg.off+uint64(sg.n)
		}
	}
	for _, sg := range segs {
		s.tick(g.micros(1, 20) + int64(sg.n))
		switch sg.kind {
		case kLoss:
			s.data(d, sg.off, sg.n, flagsOf(sg), 0, false)
			lost = append(lost, sg)
			imp.Lost++
			continue
		case kCapLoss:
			s.data(d, sg.off, sg.n, flagsOf(sg), 0, false)
			arrive(sg)
			if s.capDir[d] && !s.cutting {
				s.gaps[d] = append(s.gaps[d], Gap{sg.off, uint64(sg.n)})
				imp.CaptureLost++
			}
		default:
			s.data(d, sg.off, sg.n, flagsOf(sg), 0, true)
			arrive(sg)
		}
		switch sg.kind {
		case kDup:
			s.tick(g.micros(1, 30))
			s.data(d, sg.off, sg.n, flagsOf(sg), 0, true)
			imp.Duplicated++
		case kOvSame:
			lo := sg.off
			if sg.prevN > 0 {
				lo -= uint64(g.between(1, sg.prevN))
			}
			hi := sg.off + uint64(g.between(1, sg.n))
			if lo == sg.off && hi == sg.off+uint64(sg.n) && sg.n > 1 {
				hi-- // a true overlap, not a plain duplicate
			}
			s.tick(g.micros(1, 30))
			s.data(d, lo, int(hi-lo), 0, 0, true)
			imp.OverlapSame++
		case kOvDiff:
			a := g.between(0, sg.n-1)
			b := g.between(a+1, sg.n)
			s.tick(g.micros(1, 30))
			s.data(d, sg.off+uint64(a), b-a, 0, 1, true)
			imp.OverlapDiff++
		}
		since++
		if since >= 2 {
			s.tick(s.rtt/2 + g.micros(1, 40))
			s.pureAck(r)
			since = 0
		}
	}
	if len(lost) > 0 {
		if since > 0 {
			s.tick(s.rtt/2 + g.micros(1, 40))
			s.pureAck(r) // duplicate ACK: stops at the hole
			since = 0
		}
		s.tick(s.rtt/2 + g.micros(200, 20_000))
		slices.SortFunc(lost, func(a, b dseg) int { return cmp.Compare(a.off, b.off) })
		for _, sg := range lost {
			s.tick(g.micros(1, 20) + int64(sg.n))
			s.data(d, sg.off, sg.n, flagsOf(sg), 0, true)
			arrive(sg)
			since++
		}
	}
	if since > 0 && !skipLast {
		s.tick(s.rtt/2 + g.micros(1, 40))
		s.pureAck(r)
	}
}

// finishSim fills the truth that depends on this connection only.
func (s *sim) finishSim() {
	c := &s.conn
	c.Packets = len(s.out)
	c.base = s.cut
	if len(s.out) > 0 {
		c.Start, c.End = s.out[0].ts, s.out[len(s.out)-1].ts
	}
	for d := range c.Streams {
		st := &c.Streams[d]
		if !s.capDir[d] {
			st.Unseen = true
			continue
		}
		base := s.cut[d]
		st.Total = s.snd[d] - base
		// Reordering may have dropped holes out of stream order.
		slices.SortFunc(s.gaps[d], func(a, b Gap) int { return cmp.Compare(a.Offset, b.Offset) })
		var gaps []Gap
		for _, gp := range s.gaps[d] {
			gp.Offset -= base
			if n := len(gaps); n > 0 && gaps[n-1].Offset+gaps[n-1].Len == gp.Offset {
				gaps[n-1].Len += gp.Len
				continue
			}
			gaps = append(gaps, gp)
		}
		st.Gaps = gaps
		missed := uint64(0)
		for _, gp := range gaps {
			missed += gp.Len
		}
		st.Delivered = st.Total - missed
	}
}

// finishTruth fills every Stream's Data and SHA256, spreading connections
// over the CPUs (each result depends on its connection only).
func (cp *Capture) finishTruth() {
	workers := min(runtime.GOMAXPROCS(0), 8, len(cp.Conns))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cp.Conns) {
					return
				}
				c := &cp.Conns[i]
				for d := range c.Streams {
					st := &c.Streams[d]
					h := sha256.New()
					var data []byte
					if !cp.cfg.DigestOnly {
						data = make([]byte, 0, st.Delivered)
					}
					cp.eachDelivered(c, d, &buf, func(b []byte) {
						h.Write(b)
						if data != nil {
							data = append(data, b...)
						}
					})
					st.Data = data
					h.Sum(st.SHA256[:0])
				}
			}
		}()
	}
	wg.Wait()
}

// eachDelivered calls fn with the delivered bytes of c's direction d, in
// order and in chunks.
func (cp *Capture) eachDelivered(c *Conn, d int, buf *[]byte, fn func([]byte)) {
	st := &c.Streams[d]
	key := streamKey(c.seed, d, 0)
	base := c.streamBase(d)
	const chunk = 64 << 10
	if cap(*buf) < chunk {
		*buf = make([]byte, chunk)
	}
	b := (*buf)[:chunk]
	emit := func(from, to uint64) {
		for from < to {
			n := min(to-from, chunk)
			fillTrue(b[:n], key, base+from)
			fn(b[:n])
			from += n
		}
	}
	pos := uint64(0)
	for _, gp := range st.Gaps {
		emit(pos, gp.Offset)
		pos = gp.Offset + gp.Len
	}
	emit(pos, st.Total)
}

// streamBase is the sender's stream offset (from ISN+1) of the truth's
// offset 0: 0, or the first byte after the cut of a midstream connection.
func (c *Conn) streamBase(d int) uint64 { return c.base[d] }
