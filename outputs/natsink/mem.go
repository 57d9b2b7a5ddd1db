package natsink

import (
	"fmt"
	"slices"

	"github.com/fastsniff/fastsniff/outputs/sink"
)

// The queue of records not yet acknowledged is a ring of entries in memory
// followed, when the cluster falls behind, by the spool on disk:
//
//	ring: [head ........ direct ........ tail)   spool: [loadPos ... End)
//	       in the spool too  memory only          not yet in the ring
//
// Records [head, direct) are in the spool as well (loaded from it, or
// spilled to it); records [direct, tail) are in memory only. Records go to
// memory only while the spool holds nothing beyond the ring (loadPos ==
// End) and the ring has room, and the publisher is healthy; otherwise they
// go to the spool, after the memory-only ones are spilled to it first.
// So the order of the records is always ring then spool, and the spool
// alone holds them in order whenever it holds anything not in the ring.
// The publisher fills the ring from the spool as acknowledgements free
// room; a record leaves the ring when acknowledged, committing its place
// in the spool if it has one.

// entry is one record in the ring.
type entry struct {
	buf      []byte // the ID, then the line
	idLen    int
	kind     sink.Kind
	spoolEnd int64 // > 0: the record is in the spool too, ending there
}

func (e *entry) id() []byte   { return e.buf[:e.idLen] }
func (e *entry) line() []byte { return e.buf[e.idLen:] }

// maxKeptBuf bounds the buffer an entry keeps for reuse: a rare long line
// does not pin its size in every slot it passes through.
const maxKeptBuf = 16 << 10

// put stores a record at tail (mu held, room checked).
func (s *Sink) put(k sink.Kind, id, line []byte, spoolEnd int64) {
	e := &s.ents[s.tail%uint64(len(s.ents))]
	e.buf = append(append(slices.Grow(e.buf[:0], len(id)+len(line)), id...), line...)
	e.idLen, e.kind, e.spoolEnd = len(id), k, spoolEnd
	s.memBytes += len(e.buf)
	s.tail++
}

// room reports whether a record of n bytes fits in the ring (mu held).
func (s *Sink) room(n int) bool {
	return s.tail-s.head < uint64(len(s.ents)) && (s.memBytes+n <= s.cfg.MemBytes || s.tail == s.head)
}

// Append implements sink.Sink. While the publisher keeps up, the records
// go to memory; otherwise to the spool.
func (s *Sink) Append(k sink.Kind, lines []byte) error {
	s.mu.Lock()
	wrote, added := false, false
	err := sink.Lines(lines, func(line []byte) error {
		id, ok := sink.AppendID(s.ids[k][:0], k, s.cfg.Sensor, line)
		s.ids[k] = id
		if !ok {
			return fmt.Errorf("natsink: %s record without uid: %.80s", k, line)
		}
		if s.live && s.loadPos == s.sp.End() && s.room(len(id)+len(line)) {
			s.put(k, id, line, 0)
			added = true
			return nil
		}
		wrote = true
		if err := s.spill(); err != nil {
			return err
		}
		kept, err := s.sp.Append(byte(k), id, line)
		if err != nil {
			return err
		}
		if !kept {
			s.dropped.Add(1)
			if !s.warnedFull {
				s.warnedFull = true
				s.cfg.Logf("spool %s full (%d bytes): dropping the newest records until acknowledgements free space", s.sp.Dir(), s.cfg.SpoolMax)
			}
			return nil
		}
		s.warnedFull = false
		return nil
	})
	s.mu.Unlock()
	if wrote {
		if e := s.sp.Flush(); err == nil {
			err = e
		}
	}
	if added {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return err
}

// spill writes the memory-only records to the spool, in order, so that
// records appended to the spool after them come after them there too (mu
// held). Those the spool cannot take (full) stay memory-only; the caller
// then finds the spool full as well.
func (s *Sink) spill() error {
	if s.direct < s.head {
		s.direct = s.head
	}
	for ; s.direct < s.tail; s.direct++ {
		e := &s.ents[s.direct%uint64(len(s.ents))]
		kept, err := s.sp.Append(byte(e.kind), e.id(), e.line())
		if err != nil || !kept {
			return err
		}
		e.spoolEnd = s.sp.End()
		// in the ring already: the publisher must not load it again
		s.loadPos = e.spoolEnd
	}
	return nil
}

// memOnly is the number of records in memory only (mu held).
func (s *Sink) memOnly() uint64 {
	if s.direct < s.head {
		return s.tail - s.head
	}
	return s.tail - s.direct
}
