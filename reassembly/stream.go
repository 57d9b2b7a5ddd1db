package reassembly

import "bytes"

// insert takes the payload of a segment of direction d starting at seq:
// delivered straight from the packet when the peer already ACKed it (no
// copy), otherwise copied once into a pooled buffer.
func (t *Table) insert(c *Conn, d Dir, seq Seq, payload []byte, lease uint32, ts int64) {
	h := &c.half[d&1]
	start := h.seqOff(seq)
	end := start + int64(len(payload))
	if end <= int64(h.nextOff) {
		if start < 0 && int64(h.nextOff)-start > maxAhead {
			t.stats.OutOfWindow++
			return
		}
		// all of it was delivered (or given up on) already
		t.stats.Duplicates++
		h.stats.Dups++
		c.addHist(d, histT)
		return
	}
	if start-h.frontier() > maxAhead {
		t.stats.OutOfWindow++
		return
	}
	if start < int64(h.nextOff) {
		payload = payload[int64(h.nextOff)-start:]
		start = int64(h.nextOff)
		t.stats.Overlaps++
		h.stats.Overlaps++
		c.addHist(d, histT)
	}
	off := uint64(start)
	if len(h.segs) == 0 && off == h.nextOff {
		var lim uint64
		if t.cfg.Delivery == Immediate {
			lim = noLimit
		} else {
			lim = h.ackedOff()
		}
		if lim > off {
			n := uint64(len(payload))
			if n > lim-off {
				n = lim - off
			}
			t.emit(c, d, payload[:n], 0, false, ts)
			h.next = h.next.Add(int(n))
			h.nextOff += n
			payload = payload[n:]
			off += n
			if len(payload) == 0 {
				return
			}
		}
	}
	t.buffer(c, d, off, payload, lease)
}

// buffer stores payload at stream offset off (>= nextOff), resolving
// overlaps with what is buffered by the Overlap policy.
func (t *Table) buffer(c *Conn, d Dir, off uint64, payload []byte, lease uint32) {
	h := &c.half[d&1]
	end := off + uint64(len(payload))
	n := len(h.segs)
	if n == 0 || h.segs[n-1].end() <= off {
		t.addSeg(c, h, n, off, payload, lease)
		return
	}
	// first segment that ends after off
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h.segs[m].end() <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo
	cur := off
	added, overlapped, conflict := false, false, false
	for cur < end {
		if i >= len(h.segs) || h.segs[i].off >= end {
			t.addSeg(c, h, i, cur, payload[cur-off:], lease)
			added = true
			break
		}
		o := &h.segs[i]
		if o.off > cur {
			t.addSeg(c, h, i, cur, payload[cur-off:o.off-off], lease)
			added = true
			i++
			cur = h.segs[i].off
			continue
		}
		oe := o.end()
		if oe > end {
			oe = end
		}
		mine := payload[cur-off : oe-off]
		theirs := o.data[cur-o.off : oe-o.off]
		overlapped = true
		if !bytes.Equal(mine, theirs) {
			conflict = true
			if t.cfg.Overlap == OverlapLast {
				if o.buf == nil {
					// never write into a stable payload: copy it first
					t.own(c, h, o)
					theirs = o.data[cur-o.off : oe-o.off]
				}
				copy(theirs, mine)
			}
		}
		cur = oe
		i++
	}
	if overlapped {
		if added {
			t.stats.Overlaps++
			h.stats.Overlaps++
		} else {
			t.stats.Duplicates++
			h.stats.Dups++
		}
		c.addHist(d, histT)
	}
	if conflict {
		t.stats.Conflicts++
		h.stats.Conflicts++
		c.addHist(d, histI)
	}
}

// addSeg inserts b at index i of h.segs: a copy in a pooled buffer, or b
// itself when it is stable or leased (see Segment.Stable, Segment.Lease).
func (t *Table) addSeg(c *Conn, h *half, i int, off uint64, b []byte, lease uint32) {
	sg := seg{off: off}
	if lease != 0 {
		// counted as the pooled copy would be, so that limits act the
		// same whether or not the bytes are copied
		sg.data, sg.size, sg.lease = b[:len(b):len(b)], pooledSize(len(b)), lease
		if lease != leaseForever {
			t.leases.note(lease, c)
		}
	} else {
		sg.buf = t.pool.get(len(b))
		copy(sg.buf, b)
		sg.data, sg.size = sg.buf, cap(sg.buf)
	}
	h.segs = append(h.segs, seg{})
	if i < len(h.segs)-1 {
		copy(h.segs[i+1:], h.segs[i:])
	}
	h.segs[i] = sg
	if c.buffered == 0 {
		t.buffering.pushBack(c)
	}
	t.account(c, h, sg.size)
}

// account adds n (may be negative) to the buffered bytes of h, a
// direction of c.
func (t *Table) account(c *Conn, h *half, n int) {
	h.buffered += n
	c.buffered += n
	t.stats.Buffered += uint64(n)
	if t.stats.Buffered > t.stats.MaxBuffered {
		t.stats.MaxBuffered = t.stats.Buffered
	}
}

// own replaces a stable segment's bytes by a pooled copy, so they may be
// written to.
func (t *Table) own(c *Conn, h *half, o *seg) {
	buf := t.pool.get(len(o.data))
	copy(buf, o.data)
	t.account(c, h, cap(buf)-o.size)
	o.data, o.buf, o.size = buf, buf, cap(buf)
}

// popSeg releases h.segs[0].
func (t *Table) popSeg(c *Conn, h *half) {
	sg := &h.segs[0]
	t.account(c, h, -sg.size)
	if sg.buf != nil {
		t.pool.put(sg.buf)
	}
	if n := len(h.segs); n == 1 {
		h.segs[0] = seg{} // the common case: no copy call
		h.segs = h.segs[:0]
	} else {
		copy(h.segs, h.segs[1:])
		h.segs[n-1] = seg{}
		h.segs = h.segs[:n-1]
	}
	if c.buffered == 0 {
		t.buffering.remove(c)
	}
}

// deliver hands direction d's buffered bytes to the Handler up to offset
// limit, declaring holes below gapLimit as gaps. Bytes past the peer's ACK
// are flagged Unacked.
func (t *Table) deliver(c *Conn, d Dir, limit, gapLimit uint64, ts int64) {
	h := &c.half[d&1]
	acked := noLimit
	if t.cfg.Delivery == AckGated {
		acked = h.ackedOff()
	}
	var pend uint64
	for h.nextOff < limit {
		if len(h.segs) > 0 && h.segs[0].off == h.nextOff {
			sg := &h.segs[0]
			n := uint64(len(sg.data))
			if n > limit-h.nextOff {
				n = limit - h.nextOff
			}
			unacked := h.nextOff >= acked
			if !unacked && n > acked-h.nextOff {
				n = acked - h.nextOff
			}
			t.emit(c, d, sg.data[:n], pend, unacked, ts)
			pend = 0
			sg.data = sg.data[n:]
			sg.off += n
			h.next = h.next.Add(int(n))
			h.nextOff += n
			if len(sg.data) == 0 {
				t.popSeg(c, h)
			}
			continue
		}
		he := limit
		if len(h.segs) > 0 && h.segs[0].off < he {
			he = h.segs[0].off
		}
		if he > gapLimit {
			he = gapLimit
		}
		if he <= h.nextOff || he == noLimit {
			break
		}
		gap := he - h.nextOff
		pend += gap
		h.stats.Missed += gap
		t.stats.Gaps++
		t.stats.MissedBytes += gap
		c.addHist(d, histG)
		h.next = h.next.Add(int(gap))
		h.nextOff = he
	}
	if pend > 0 {
		t.emit(c, d, nil, pend, false, ts)
	}
	if h.finSeen && h.nextOff >= h.finOff {
		h.done = true
	}
}

// emit calls the Handler for bytes at the current delivery point of d.
func (t *Table) emit(c *Conn, d Dir, b []byte, gap uint64, unacked bool, ts int64) {
	h := &c.half[d&1]
	n := uint64(len(b))
	h.stats.Delivered += n
	t.stats.Delivered += n
	if unacked {
		h.stats.Unacked += n
		t.stats.Unacked += n
	}
	data := Data{Bytes: b, Offset: h.nextOff, Gap: gap, Unacked: unacked, TS: ts}
	if d == FromClient {
		t.h.Sent(c, data)
	} else {
		t.h.Received(c, data)
	}
}
