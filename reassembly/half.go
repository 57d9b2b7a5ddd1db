package reassembly

// seg is a buffered piece of one direction's stream.
type seg struct {
	off  uint64 // stream offset of data[0]
	data []byte // the bytes still to deliver: a window into buf
	buf  []byte // the pooled buffer that holds data (returned on release); nil for a stable or leased payload
	size int    // bytes it counts against the buffer limits
	// lease is the Segment.Lease the bytes are borrowed under while buf
	// is nil (leaseForever for a stable payload)
	lease uint32
}

// half is one direction of a connection: the bytes one endpoint sends, the
// ACKs the other endpoint sends for them, and what is buffered in between.
type half struct {
	init     bool   // next/nextOff established (SYN, first data or first ACK)
	next     Seq    // sequence number of the next byte to deliver
	nextOff  uint64 // its stream offset
	isn      Seq    // the SYN's sequence number, when known
	synSeen  bool   // the SYN itself was captured
	isnKnown bool   // isn is known: from the SYN, or from the SYN+ACK that ACKed it

	ackValid bool
	ack      Seq // highest ACK the peer sent for this direction
	gapAck   Seq // the ACK before it: holes below it are lost

	maxValid bool
	maxEnd   Seq // highest sequence number + length seen

	finSeen bool
	finOff  uint64 // stream offset of the FIN
	done    bool   // delivered up to the FIN

	segs     []seg
	buffered int // bytes of buffer capacity held by segs

	stats DirStats
	_     [halfPad]byte
}

// halfPad makes a half 192 bytes, three cache lines, so that the pair of
// a connection's directions (Table.newHalves) starts each on a line.
const halfPad = 16

// rebase makes seq (a SYN's) the origin of the stream: offset 0 is seq+1.
func (h *half) rebase(seq Seq) {
	h.synSeen, h.isnKnown, h.isn = true, true, seq
	h.init, h.next, h.nextOff = true, seq+1, 0
	h.ackValid, h.maxValid, h.finSeen, h.done = false, false, false, false
}

// seqOff converts a sequence number to a (signed) stream offset. The
// reference is the peer's ACK when it is ahead of the delivery point: a
// hole waiting to be confirmed can hold the delivery point back by more
// than sequence numbers can tell apart, while the ACK is where the
// sender's bytes really are.
func (h *half) seqOff(s Seq) int64 {
	if h.ackValid {
		if rel := h.ack.Diff(h.next); rel > 0 {
			return int64(h.nextOff) + int64(rel) + int64(s.Diff(h.ack))
		}
	}
	return int64(h.nextOff) + int64(s.Diff(h.next))
}

// frontier is the furthest offset known to be in use: the delivery point
// or the peer's ACK, whichever is ahead.
func (h *half) frontier() int64 {
	f := int64(h.nextOff)
	if h.ackValid {
		if rel := h.ack.Diff(h.next); rel > 0 {
			f += int64(rel)
		}
	}
	return f
}

// offsetOf converts a sequence number to a stream offset; ok is false when
// it lies before the stream's origin.
func (h *half) offsetOf(s Seq) (uint64, bool) {
	o := h.seqOff(s)
	if o < 0 {
		return 0, false
	}
	return uint64(o), true
}

// ackedOff is the offset up to which the peer has ACKed (the FIN's own
// sequence number excluded).
func (h *half) ackedOff() uint64 {
	if !h.ackValid {
		return h.nextOff
	}
	rel := h.ack.Diff(h.next)
	if rel <= 0 {
		return h.nextOff
	}
	o := h.nextOff + uint64(rel)
	if h.finSeen && o > h.finOff {
		o = h.finOff
	}
	return o
}

// gapLimit is the offset up to which a hole may be declared lost. An ACK
// past a hole may have overtaken the data on its way to the capture point
// (SPAN ports reorder), so a hole becomes a gap only once a later ACK
// confirms it, or once the FIN after it is ACKed (the sender is done).
func (h *half) gapLimit() uint64 {
	if !h.ackValid {
		return h.nextOff
	}
	if h.finSeen {
		if rel := h.ack.Diff(h.next); rel > 0 && h.nextOff+uint64(rel) > h.finOff {
			return h.finOff
		}
	}
	rel := h.gapAck.Diff(h.next)
	if rel <= 0 {
		return h.nextOff
	}
	return h.nextOff + uint64(rel)
}

func (s *seg) end() uint64 { return s.off + uint64(len(s.data)) }

// empty reports whether nothing of the stream was delivered, given up on
// or buffered yet.
func (h *half) empty() bool {
	return h.stats.Delivered+h.stats.Missed == 0 && len(h.segs) == 0
}
