package decode

import (
	"bytes"
	"math"

	"github.com/fastsniff/fastsniff/reassembly"
)

// maxDatagram is the largest payload a reassembled datagram may have.
const maxDatagram = 65535

// fragKey identifies a datagram being reassembled. IPv6 keys on source,
// destination and identification only (RFC 8200); proto is 0 there.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
	vlans    reassembly.VLANs
}

// fragPiece is one fragment: payload bytes [off, end) of the datagram,
// stored at data[at:] of its slot.
type fragPiece struct {
	off, end, at int32
}

type fragSlot struct {
	key    fragKey
	used   bool
	pos    int32 // index in defrag.live while used
	haveNH bool
	nh     byte        // IPv6: next header of the offset-0 fragment
	first  int64       // capture time of the first fragment
	total  int32       // payload length, from the last fragment; -1 until then
	maxEnd int32       // highest end seen
	n      int         // fragments received
	pieces []fragPiece // by offset; equal offsets in arrival order
	data   []byte      // fragment bytes, as received
}

// defrag is a small bounded IP fragment reassembler (see Decoder).
type defrag struct {
	cfg      *Config
	st       *Stats
	slots    []fragSlot
	live     []int32 // indexes of the slots in use
	free     []int32 // indexes of the free slots
	pending  int     // slots in use
	bytes    int     // sum of len(slot.data)
	retained int     // sum of cap(slot.data)
	oldest   int64   // lower bound of first over used slots
	out      []byte
}

func (f *defrag) init(cfg *Config, st *Stats) {
	f.cfg = cfg
	f.st = st
	f.slots = make([]fragSlot, cfg.FragMaxDatagrams)
	f.live = make([]int32, 0, cfg.FragMaxDatagrams)
	f.free = make([]int32, cfg.FragMaxDatagrams)
	for i := range f.free {
		f.free[i] = int32(len(f.free) - 1 - i)
	}
}

func (f *defrag) sync() {
	f.st.FragPending = uint64(f.pending)
	f.st.FragPendingBytes = uint64(f.bytes)
}

// expire drops datagrams older than the timeout at capture time ts.
func (f *defrag) expire(ts int64) {
	lim := int64(f.cfg.FragTimeout)
	if ts-f.oldest <= lim {
		return
	}
	oldest := int64(math.MaxInt64)
	for i := 0; i < len(f.live); {
		s := &f.slots[f.live[i]]
		if ts-s.first > lim {
			f.st.FragTimeouts++
			f.drop(s) // moves the last live slot to i
			continue
		}
		oldest = min(oldest, s.first)
		i++
	}
	f.oldest = oldest
}

func (f *defrag) find(k *fragKey) *fragSlot {
	for _, i := range f.live {
		s := &f.slots[i]
		if s.key.id == k.id && s.key == *k {
			return s
		}
	}
	return nil
}

// oldestBut returns the used slot with the earliest first fragment, other
// than not.
func (f *defrag) oldestBut(not *fragSlot) *fragSlot {
	var o *fragSlot
	for _, i := range f.live {
		s := &f.slots[i]
		if s != not && (o == nil || s.first < o.first) {
			o = s
		}
	}
	return o
}

func (f *defrag) alloc(k *fragKey, ts int64) *fragSlot {
	if len(f.free) == 0 {
		f.st.FragEvictions++
		f.drop(f.oldestBut(nil))
	}
	i := f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	s := &f.slots[i]
	s.pos = int32(len(f.live))
	f.live = append(f.live, i)
	if f.pending == 0 || ts < f.oldest {
		f.oldest = ts
	}
	f.pending++
	s.key = *k
	s.used = true
	s.haveNH = false
	s.first = ts
	s.total = -1
	s.maxEnd = 0
	s.n = 0
	f.sync()
	return s
}

// drop discards an incomplete datagram.
func (f *defrag) drop(s *fragSlot) {
	f.st.FragDropped += uint64(s.n)
	f.release(s)
}

func (f *defrag) release(s *fragSlot) {
	f.bytes -= len(s.data)
	s.data = s.data[:0]
	if f.retained > f.cfg.FragMaxBytes {
		// Keep no more spare capacity than the byte budget.
		f.retained -= cap(s.data)
		s.data = nil
	}
	s.pieces = s.pieces[:0]
	s.used = false
	s.n = 0
	// Swap-delete from live, back onto free.
	i := f.live[s.pos]
	last := f.live[len(f.live)-1]
	f.live[s.pos] = last
	f.slots[last].pos = s.pos
	f.live = f.live[:len(f.live)-1]
	f.free = append(f.free, i)
	f.pending--
	f.sync()
}

// add files fragment payload p, bytes [off, off+len(p)) of its datagram
// (more: not the last fragment). nh is the IPv6 next header the fragment
// header names. It returns the datagram's payload when complete (valid
// until the next add), with the offset-0 fragment's nh; nil while
// incomplete; or a reason when the fragment is refused (and its datagram
// dropped).
func (f *defrag) add(k *fragKey, off int, more bool, p []byte, nh byte, ts int64) ([]byte, byte, Reason) {
	end := off + len(p)
	s := f.find(k)
	if end > maxDatagram || len(p) > f.cfg.FragMaxBytes {
		if s != nil {
			f.drop(s)
		}
		return nil, 0, ReasonFragTooBig
	}
	if s == nil {
		s = f.alloc(k, ts)
	}
	if s.n >= f.cfg.FragMaxFragments {
		f.drop(s)
		return nil, 0, ReasonFragTooMany
	}
	if !more {
		if (s.total >= 0 && int(s.total) != end) || int(s.maxEnd) > end {
			f.drop(s)
			return nil, 0, ReasonFragInconsistent
		}
		s.total = int32(end)
	} else if s.total >= 0 && end > int(s.total) {
		f.drop(s)
		return nil, 0, ReasonFragInconsistent
	}
	for f.bytes+len(p) > f.cfg.FragMaxBytes {
		o := f.oldestBut(s)
		if o == nil {
			f.drop(s)
			return nil, 0, ReasonFragTooBig
		}
		f.st.FragEvictions++
		f.drop(o)
	}

	// Overlaps: count them, and whether the bytes disagree.
	i := len(s.pieces)
	overlap, conflict := false, false
	for j := range s.pieces {
		q := &s.pieces[j]
		if i == len(s.pieces) && int(q.off) > off {
			i = j
		}
		lo, hi := max(off, int(q.off)), min(end, int(q.end))
		if lo >= hi {
			continue
		}
		overlap = true
		old := s.data[int(q.at)+lo-int(q.off) : int(q.at)+hi-int(q.off)]
		if !bytes.Equal(old, p[lo-off:hi-off]) {
			conflict = true
		}
	}
	if overlap {
		f.st.FragOverlaps++
	}
	if conflict {
		f.st.FragConflicts++
	}

	at := len(s.data)
	c := cap(s.data)
	s.data = append(s.data, p...)
	f.retained += cap(s.data) - c
	f.bytes += len(p)
	s.pieces = append(s.pieces, fragPiece{})
	copy(s.pieces[i+1:], s.pieces[i:])
	s.pieces[i] = fragPiece{off: int32(off), end: int32(end), at: int32(at)}
	s.n++
	s.maxEnd = max(s.maxEnd, int32(end))
	if off == 0 && !s.haveNH {
		s.nh, s.haveNH = nh, true
	}
	f.sync()

	if s.total < 0 {
		return nil, 0, ReasonNone
	}
	pos := 0
	for _, q := range s.pieces {
		if int(q.off) > pos {
			return nil, 0, ReasonNone // a hole
		}
		pos = max(pos, int(q.end))
	}
	if pos < int(s.total) {
		return nil, 0, ReasonNone
	}

	// Complete. Lowest offset wins; equal offsets, first arrival wins.
	if f.out == nil {
		f.out = make([]byte, maxDatagram)
	}
	out := f.out[:s.total]
	pos = 0
	for _, q := range s.pieces {
		if int(q.end) > pos {
			copy(out[pos:q.end], s.data[int(q.at)+pos-int(q.off):int(q.at)+int(q.end-q.off)])
			pos = int(q.end)
		}
	}
	nh = s.nh
	f.st.FragReassembled++
	f.release(s)
	return out, nh, ReasonNone
}
