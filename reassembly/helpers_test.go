package reassembly

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// recorder is a Handler that keeps everything it is handed, copied, so tests
// can assert real bytes, gaps, flags and close reasons.
type recorder struct {
	conns  []*recConn
	open   map[*Conn]*recConn
	checks func(c *Conn, d Dir, data Data) // optional invariant check per call
	// closeOrder has the IDs of the connections closed, in order
	closeOrder []uint64
}

type gapRec struct{ Off, Len uint64 }

type recConn struct {
	id        uint64
	client    netip.AddrPort
	server    netip.AddrPort
	vlans     VLANs
	midstream bool
	streams   [2][]byte
	gaps      [2][]gapRec
	unacked   [2]uint64
	calls     [2]int
	reason    Reason
	closed    int
	stats     [2]DirStats
	hist      string
	start     int64
	last      int64
	vlansOf   [2]VLANs
}

func newRecorder() *recorder { return &recorder{open: map[*Conn]*recConn{}} }

func (r *recorder) Opened(c *Conn) {
	rc := &recConn{id: c.ID(), client: c.Client(), server: c.Server(), vlans: c.VLANs(), midstream: c.Midstream()}
	r.conns = append(r.conns, rc)
	r.open[c] = rc
}

func (r *recorder) data(c *Conn, d Dir, x Data) {
	rc := r.open[c]
	if rc == nil {
		panic("data for a connection that is not open")
	}
	if r.checks != nil {
		r.checks(c, d, x)
	}
	if x.Gap > 0 {
		rc.gaps[d] = append(rc.gaps[d], gapRec{x.Offset - x.Gap, x.Gap})
	}
	got := uint64(len(rc.streams[d]))
	for _, g := range rc.gaps[d] {
		got += g.Len
	}
	if got != x.Offset {
		panic(fmt.Sprintf("offset %d does not follow what was delivered (%d)", x.Offset, got))
	}
	rc.streams[d] = append(rc.streams[d], x.Bytes...)
	if x.Unacked {
		rc.unacked[d] += uint64(len(x.Bytes))
	}
	rc.calls[d]++
}

func (r *recorder) Sent(c *Conn, d Data)     { r.data(c, FromClient, d) }
func (r *recorder) Received(c *Conn, d Data) { r.data(c, FromServer, d) }

func (r *recorder) Closed(c *Conn, why Reason) {
	rc := r.open[c]
	rc.reason = why
	rc.closed++
	r.closeOrder = append(r.closeOrder, rc.id)
	rc.stats = [2]DirStats{c.Stats(FromClient), c.Stats(FromServer)}
	rc.hist = c.History()
	rc.start, rc.last = c.StartNanos(), c.LastNanos()
	rc.vlansOf = [2]VLANs{c.VLANsOf(FromClient), c.VLANsOf(FromServer)}
	delete(r.open, c)
}

// pkt describes a test segment compactly: "c" or "s" sends, flags in
// tcpdump letters (S F R P . for ACK), relative sequence numbers added to
// per-side ISNs by the script.
type pkt struct {
	from  byte // 'c' client, 's' server
	flags string
	seq   uint32 // relative to the sender's ISN (1 = first data byte)
	ack   uint32 // relative to the receiver's ISN; used when flags has '.'
	data  string
	ts    time.Duration // capture time since the script's epoch
}

type script struct {
	cli, srv   netip.AddrPort
	isnC, isnS uint32
	vlan       []uint16
	epoch      int64
}

var (
	testCli = netip.MustParseAddrPort("10.0.0.1:40000")
	testSrv = netip.MustParseAddrPort("10.0.0.2:80")
	epoch0  = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

func defScript() script {
	return script{cli: testCli, srv: testSrv, isnC: 1000, isnS: 5000, epoch: epoch0}
}

func parseFlags(s string) Flags {
	var f Flags
	for _, ch := range s {
		switch ch {
		case 'S':
			f |= SYN
		case 'F':
			f |= FIN
		case 'R':
			f |= RST
		case 'P':
			f |= PSH
		case '.':
			f |= ACK
		case 'U':
			f |= URG
		case 'E':
			f |= ECE
		case 'W':
			f |= CWR
		}
	}
	return f
}

func (sc script) seg(p pkt) *Segment {
	s := &Segment{TS: sc.epoch + int64(p.ts), Flags: parseFlags(p.flags), Window: 65535, WScale: -1, Payload: []byte(p.data)}
	src, dst := sc.cli, sc.srv
	isnSrc, isnDst := sc.isnC, sc.isnS
	if p.from == 's' {
		src, dst = dst, src
		isnSrc, isnDst = isnDst, isnSrc
	}
	s.SetAddrs(src.Addr(), dst.Addr())
	s.SrcPort, s.DstPort = src.Port(), dst.Port()
	s.Seq = Seq(isnSrc + p.seq)
	if s.Flags&ACK != 0 {
		s.Ack = Seq(isnDst + p.ack)
	}
	for _, v := range sc.vlan {
		s.VLANs.Push(v)
	}
	return s
}

// run feeds the script's packets to a new Table and flushes it.
func (sc script) run(t testing.TB, cfg Config, pkts []pkt) (*recorder, *Table) {
	t.Helper()
	r := newRecorder()
	tb := NewTable(cfg, r)
	for i, p := range pkts {
		if p.ts == 0 {
			p.ts = time.Duration(i) * time.Millisecond
		}
		tb.Feed(sc.seg(p))
	}
	tb.Flush(ReasonFlush)
	return r, tb
}

// handshake is the usual three packets; client data starts at relative seq 1.
func handshake() []pkt {
	return []pkt{
		{from: 'c', flags: "S", seq: 0},
		{from: 's', flags: "S.", seq: 0, ack: 1},
		{from: 'c', flags: ".", seq: 1, ack: 1},
	}
}

func cat(parts ...[]pkt) []pkt {
	var out []pkt
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func gapsString(g []gapRec) string {
	var b strings.Builder
	for _, x := range g {
		fmt.Fprintf(&b, "%d+%d;", x.Off, x.Len)
	}
	return b.String()
}
