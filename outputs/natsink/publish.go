package natsink

import (
	"bytes"
	"strconv"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fastsniff/fastsniff/outputs/sink"
	"github.com/fastsniff/fastsniff/outputs/spool"
)

// The publisher speaks JetStream's publish protocol on the core
// connection: a message with a reply subject, the stream's ack as the
// reply. Doing it here rather than through jetstream.PublishMsgAsync saves
// half the CPU per record (measured by BenchmarkPublish): no JSON decoding
// of each ack (only the error case is told apart), no timer, map entry and
// channels per message, and no copy of the record (PublishMsg copies it to
// the connection's buffer before returning; a re-send reads the ring
// again).
//
// A message's reply subject is <inbox>.<seq>, seq counting publishes in
// this run. The window is the ring's records [head, next); since the last
// go-back, publish pubBase+i was record recBase+i, so an ack names its
// record without a lookup, and acks of an abandoned window (seq < pubBase)
// are ignored.

// isError tells an ack from an error reply: {"error":{...}}, or the empty
// 503 status message of no responders.
func isError(m *nats.Msg) bool {
	return len(m.Data) == 0 || bytes.Contains(m.Data, []byte(`"error"`))
}

// run is the publisher goroutine: ring (filled from the spool when it
// holds records) → JetStream, in order.
func (s *Sink) run() {
	defer close(s.done)
	defer s.finish()
	if err := s.connect(); err != nil {
		s.err = err
		return
	}
	nc := s.nc.Load()
	max := uint64(s.cfg.MaxInFlight)
	n := uint64(len(s.ents))
	// acks arrive on a channel the connection's reader fills directly (no
	// goroutine hop per ack); it holds two windows (the current one and an
	// abandoned one's late acks): an ack lost to a full channel only
	// costs a re-send after AckWait
	acks := make(chan *nats.Msg, 2*max)
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox+".*", acks)
	if err != nil {
		s.err = err
		return
	}
	_ = sub.SetPendingLimits(-1, -1)
	defer sub.Unsubscribe()

	r := s.sp.NewReader(s.loadPos)
	defer r.Close()
	rpos := s.loadPos
	acked := make([]bool, n)
	sent := make([]time.Time, n)
	next := s.head // records [head, next) are in flight
	var recBase, pubBase, pubNext, high uint64
	ready := false
	closing := s.closing
	drain := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	ackTimer := time.NewTimer(time.Hour)
	defer ackTimer.Stop()
	var deadline <-chan time.Time
	var lastErr string
	warn := func(msg string) {
		if msg != lastErr {
			lastErr = msg
			s.cfg.Logf("nats: %s (records wait in the spool)", msg)
		}
	}
	startDrain := func() {
		closing, drain = nil, true
		deadline = time.After(time.Until(time.Unix(0, s.drainBy.Load())))
	}
	// backoff waits d; false when the drain deadline passed.
	backoff := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-closing:
			startDrain()
		case <-deadline:
			return false
		}
		return true
	}
	// goBack abandons the window and publishes again from the oldest
	// unacknowledged record; late acks of the abandoned publishes are
	// ignored (their records are sent again, and dropped as duplicates).
	// New records go to the spool until the ring caught up again. The wait
	// doubles with every failure in a row (a leader election answers each
	// publish with an error), from 100 ms up to 2 s.
	fails := 0
	goBack := func() bool {
		next, recBase, pubBase = s.head, s.head, pubNext
		s.setLive(false)
		d := min(100*time.Millisecond<<min(fails, 5), 2*time.Second)
		fails++
		return backoff(d)
	}
	hdr := nats.Header{}
	msgID := []string{""}
	hdr[jetstream.MsgIDHeader] = msgID
	m := &nats.Msg{Header: hdr}
	reply := make([]byte, 0, len(inbox)+24)
	for {
		if !ready && nc.IsConnected() {
			if err := s.ensureStream(); err != nil {
				warn(err.Error())
				if !backoff(500 * time.Millisecond) {
					return
				}
				continue
			}
			ready = true
		}
		if err := s.load(r, &rpos); err != nil {
			s.err = err
			return
		}
		s.mu.Lock()
		s.live = ready && fails == 0 && nc.IsConnected()
		tail := s.tail
		s.mu.Unlock()
		failed := false
		now := time.Now()
		for ready && next < tail && next-s.head < max && nc.IsConnected() {
			e := &s.ents[next%n]
			reply = strconv.AppendUint(append(append(reply[:0], inbox...), '.'), pubNext, 10)
			m.Subject = s.subj[e.kind]
			// PublishMsg copies subject, reply, header and data to the
			// connection's buffer and keeps none: strings over the
			// scratch buffer and the entry save two allocations a record
			m.Reply = unsafe.String(unsafe.SliceData(reply), len(reply))
			m.Data = e.line()
			msgID[0] = unsafe.String(unsafe.SliceData(e.buf), e.idLen)
			if err := nc.PublishMsg(m); err != nil {
				warn(err.Error())
				failed = true
				break
			}
			if next < high {
				s.retried.Add(1)
			} else {
				s.published.Add(1)
				high = next + 1
			}
			sent[next%n] = now
			next++
			pubNext++
		}
		if failed {
			if !goBack() {
				return
			}
			continue
		}
		if next == s.head { // nothing in flight
			s.mu.Lock()
			if s.head == s.tail && s.head > 0 {
				// the ring is empty: start again at its first slot, so
				// that while the cluster keeps up only a few slots are
				// ever touched (the workers' caches); acks of earlier
				// publishes are ignored from now on
				s.head, s.tail, s.direct = 0, 0, 0
				next, recBase, high, pubBase = 0, 0, 0, pubNext
			}
			s.mu.Unlock()
			if drain && s.empty() {
				return
			}
			select {
			case <-s.wake:
			case <-s.sp.Notify():
			case <-tick.C:
				if err := s.sp.Persist(); err != nil {
					s.err = err
					return
				}
			case <-closing:
				startDrain()
			case <-deadline:
				return
			}
			continue
		}
		wait := s.cfg.AckWait - time.Since(sent[s.head%n])
		if wait <= 0 {
			warn("no acknowledgement within " + s.cfg.AckWait.String())
			if !goBack() {
				return
			}
			continue
		}
		ackTimer.Reset(wait)
		select {
		case m := <-acks:
			// take every ack that is there, then pop once
			for {
				seq, err := strconv.ParseUint(m.Subject[len(inbox)+1:], 10, 64)
				switch {
				case err != nil || seq < pubBase || seq >= pubNext:
					// not ours, or of an abandoned window
				case isError(m):
					warn("publish refused by the server")
					if !goBack() {
						return
					}
				default:
					acked[(recBase+seq-pubBase)%n] = true
				}
				select {
				case m = <-acks:
					continue
				default:
				}
				break
			}
			if acked[s.head%n] {
				fails = 0
				s.pop(acked)
			}
		case <-ackTimer.C:
		case <-tick.C:
			if err := s.sp.Persist(); err != nil {
				s.err = err
				return
			}
		case <-closing:
			startDrain()
		case <-deadline:
			return
		}
	}
}

// setLive says whether records may go to memory.
func (s *Sink) setLive(v bool) {
	s.mu.Lock()
	s.live = v
	s.mu.Unlock()
}

// empty reports whether every record was acknowledged.
func (s *Sink) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head == s.tail && s.loadPos == s.sp.End()
}

// pop removes the acknowledged records at the head of the ring and
// commits their places in the spool.
func (s *Sink) pop(acked []bool) {
	n := uint64(len(s.ents))
	var pos, spooled int64
	var popped, replayed uint64
	s.mu.Lock()
	for s.head < s.tail && acked[s.head%n] {
		e := &s.ents[s.head%n]
		if e.spoolEnd > 0 {
			pos = e.spoolEnd
			spooled++
			if pos <= s.openEnd {
				replayed++
			}
		}
		s.memBytes -= len(e.buf)
		if cap(e.buf) > maxKeptBuf {
			e.buf = nil
		}
		acked[s.head%n] = false
		s.head++
		popped++
	}
	if spooled > 0 {
		s.sp.Commit(pos, spooled)
	}
	s.mu.Unlock()
	s.acked.Add(popped)
	s.replayed.Add(replayed)
}

// load moves records from the spool into the ring while it has room.
func (s *Sink) load(r *spool.Reader, rpos *int64) error {
	n := uint64(len(s.ents))
	for {
		s.mu.Lock()
		if s.loadPos == s.sp.End() || s.tail-s.head >= n || s.memBytes >= s.cfg.MemBytes {
			s.mu.Unlock()
			return nil
		}
		// no memory-only record can appear while the spool holds records
		// beyond the ring: loadPos stays put until the put below
		pos := s.loadPos
		s.mu.Unlock()
		if pos != *rpos { // records were spilled: they are in the ring already
			r.Rewind(pos)
			*rpos = pos
		}
		rec, ok, err := r.Next()
		if err != nil || !ok {
			return err
		}
		s.mu.Lock()
		s.put(sink.Kind(rec.Kind), rec.ID, rec.Line, rec.End)
		s.loadPos, s.direct = rec.End, s.tail
		s.mu.Unlock()
		*rpos = rec.End
	}
}

// finish ends the publisher: records in memory only are spilled to the
// spool for the next run (those it cannot take are lost, counted as
// dropped), and the commit is persisted.
func (s *Sink) finish() {
	s.mu.Lock()
	s.live = false
	err := s.spill()
	if lost := s.memOnly(); lost > 0 {
		s.dropped.Add(lost)
		s.cfg.Logf("spool %s full (%d bytes): %d unacknowledged records lost", s.sp.Dir(), s.cfg.SpoolMax, lost)
	}
	s.mu.Unlock()
	if e := s.sp.Flush(); err == nil {
		err = e
	}
	if e := s.sp.Persist(); err == nil {
		err = e
	}
	if err != nil && s.err == nil {
		s.err = err
	}
}
