package flowgen_test

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/fastsniff/fastsniff/flowgen"
)

// oracleStream is what the oracle derives for one direction.
type oracleStream struct {
	data  []byte
	gaps  []flowgen.Gap
	total uint64
	seen  bool // some packet of the direction was captured
}

// oracle derives every connection's streams from the captured packets
// alone, by the reassembler's rules, independently of how Generate built
// its truth:
//
//   - a direction's offset 0 is its SYN's sequence number + 1, else the
//     first sequence number it was seen with: its first packet's Seq or the
//     peer's first ACK, whichever is captured first;
//   - when the peer ACKs past the delivery point, every byte up to the ACK
//     (the FIN excluded) is delivered from the first captured copy of it,
//     or counted in a gap if no copy was captured before that ACK;
//   - at the end, whatever was captured and not yet delivered is delivered
//     (unACKed), holes in between as gaps.
func oracle(c *flowgen.Capture) [][2]oracleStream {
	type dirState struct {
		init     bool
		base     uint32
		vals     []byte // captured bytes by offset (first copy)
		got      []bool
		del      uint64 // delivery point
		finOff   int64  // -1: no FIN seen
		out      oracleStream
		gapStart int64 // -1: not in a gap
	}
	st := make([][2]*dirState, len(c.Conns))
	get := func(conn, d int) *dirState {
		if st[conn][d] == nil {
			st[conn][d] = &dirState{finOff: -1, gapStart: -1}
		}
		return st[conn][d]
	}
	// release delivers [s.del, to).
	release := func(s *dirState, to uint64) {
		for ; s.del < to; s.del++ {
			if s.del < uint64(len(s.got)) && s.got[s.del] {
				b := s.vals[s.del]
				if s.gapStart >= 0 {
					s.out.gaps = append(s.out.gaps, flowgen.Gap{Offset: uint64(s.gapStart), Len: s.del - uint64(s.gapStart)})
					s.gapStart = -1
				}
				s.out.data = append(s.out.data, b)
			} else if s.gapStart < 0 {
				s.gapStart = int64(s.del)
			}
		}
	}
	closeGap := func(s *dirState) {
		if s.gapStart >= 0 {
			s.out.gaps = append(s.out.gaps, flowgen.Gap{Offset: uint64(s.gapStart), Len: s.del - uint64(s.gapStart)})
			s.gapStart = -1
		}
	}
	for _, p := range c.All() {
		me, peer := get(p.Conn, p.Dir), get(p.Conn, 1-p.Dir)
		me.out.seen = true
		seq := p.Seq
		if p.Flags&flowgen.SYN != 0 {
			me.init, me.base = true, seq+1
			seq++
		}
		if !me.init {
			me.init, me.base = true, seq
		}
		if p.Flags&flowgen.ACK != 0 {
			if !peer.init {
				peer.init, peer.base = true, p.Ack
			}
			a := int64(int32(p.Ack - peer.base))
			if peer.finOff >= 0 && a > peer.finOff {
				a = peer.finOff
			}
			if a > int64(peer.del) {
				release(peer, uint64(a))
			}
		}
		if p.Flags&flowgen.RST != 0 {
			continue
		}
		off := int64(int32(seq - me.base))
		end := off + int64(len(p.Payload))
		if end > int64(len(me.got)) {
			me.got = append(me.got, make([]bool, end-int64(len(me.got)))...)
			me.vals = append(me.vals, make([]byte, end-int64(len(me.vals)))...)
		}
		for i, b := range p.Payload {
			o := off + int64(i)
			if o < int64(me.del) || me.got[o] {
				continue
			}
			me.got[o], me.vals[o] = true, b
		}
		if p.Flags&flowgen.FIN != 0 && me.finOff < 0 {
			me.finOff = end
		}
	}
	out := make([][2]oracleStream, len(c.Conns))
	for i := range st {
		for d := range 2 {
			s := st[i][d]
			if s == nil {
				continue
			}
			// Flush: deliver what is left, holes between as gaps.
			last := uint64(len(s.got))
			for last > s.del && !s.got[last-1] {
				last--
			}
			release(s, last)
			closeGap(s)
			s.out.total = s.del
			out[i][d] = s.out
		}
	}
	return out
}

// checkOracle compares the truth with the oracle and returns the first
// difference.
func checkOracle(c *flowgen.Capture) error {
	or := oracle(c)
	for i := range c.Conns {
		cn := &c.Conns[i]
		for d := range 2 {
			t, o := &cn.Streams[d], &or[i][d]
			name := fmt.Sprintf("conn %d (%v-%v) dir %d", i, cn.Client, cn.Server, d)
			if t.Unseen {
				if o.seen || len(o.data) > 0 {
					return fmt.Errorf("%s: unseen in the truth, but %d bytes captured", name, len(o.data))
				}
				continue
			}
			if !bytes.Equal(t.Data, o.data) {
				return fmt.Errorf("%s: truth has %d bytes, oracle %d (first difference at %d)", name, len(t.Data), len(o.data), firstDiff(t.Data, o.data))
			}
			if !slices.Equal(t.Gaps, o.gaps) {
				return fmt.Errorf("%s: truth gaps %v, oracle %v", name, t.Gaps, o.gaps)
			}
			if t.Total != o.total {
				return fmt.Errorf("%s: truth total %d, oracle %d", name, t.Total, o.total)
			}
			if t.Delivered != uint64(len(t.Data)) {
				return fmt.Errorf("%s: Delivered %d != len(Data) %d", name, t.Delivered, len(t.Data))
			}
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
