package natsink

import (
	"bytes"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The publisher speaks JetStream's publish protocol on the core
// connection: a message with a reply subject, the stream's ack as the
// reply. Doing it here rather than through jetstream.PublishMsgAsync saves
// half the CPU per record (measured by BenchmarkPublish): no JSON decoding
// of each ack (only the error case is told apart), no timer, map entry and
// channels per message, and no copy of the record (PublishMsg copies it to
// the connection's buffer before returning; a re-send reads the spool
// again).
//
// A message's reply subject is <inbox>.<seq>, seq counting publishes in
// this run, so an ack names its message without a lookup. The window is a
// ring of MaxInFlight slots, from head (the oldest unacknowledged publish)
// to next.

// slot is one publish in the window.
type slot struct {
	end   int64 // spool position after the record
	sent  time.Time
	acked bool
}

// isError tells an ack from an error reply: {"error":{...}}, or the empty
// 503 status message of no responders.
func isError(m *nats.Msg) bool {
	return len(m.Data) == 0 || bytes.Contains(m.Data, []byte(`"error"`))
}

// run is the publisher goroutine: spool → JetStream, in order.
func (s *Sink) run() {
	defer close(s.done)
	if err := s.connect(); err != nil {
		s.err = err
		return
	}
	nc := s.nc.Load()
	max := uint64(s.cfg.MaxInFlight)
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

	start := s.sp.Start()
	openEnd := s.sp.OpenEnd()
	r := s.sp.NewReader(start)
	defer r.Close()
	committed := start // every record before it is acknowledged
	high := start      // every record before it was published once in this run
	ring := make([]slot, max)
	var head, next uint64 // the window: seqs [head, next)
	var pending int64     // acknowledged records not yet given to the spool's Commit
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
	commit := func() {
		if pending > 0 {
			s.sp.Commit(committed, pending)
			pending = 0
		}
	}
	defer func() {
		commit()
		if err := s.sp.Persist(); err != nil && s.err == nil {
			s.err = err
		}
	}()
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
	// goBack abandons the window and reads again from the oldest
	// unacknowledged record; late acks of the abandoned publishes are
	// ignored (their records are sent again, and dropped as duplicates).
	// The wait doubles with every failure in a row (a leader election
	// answers each publish with an error), from 100 ms up to 2 s.
	fails := 0
	goBack := func() bool {
		head = next
		r.Rewind(committed)
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
		failed := false
		now := time.Now()
		for ready && next-head < max && nc.IsConnected() {
			rec, ok, err := r.Next()
			if err != nil {
				s.err = err
				return
			}
			if !ok {
				break
			}
			reply = strconv.AppendUint(append(append(reply[:0], inbox...), '.'), next, 10)
			m.Subject = s.subj[rec.Kind]
			m.Reply = string(reply)
			m.Data = rec.Line
			msgID[0] = string(rec.ID)
			if err := nc.PublishMsg(m); err != nil {
				warn(err.Error())
				failed = true
				break
			}
			if rec.End <= high {
				s.retried.Add(1)
			} else {
				s.published.Add(1)
				high = rec.End
			}
			ring[next%max] = slot{end: rec.End, sent: now}
			next++
		}
		if failed {
			if !goBack() {
				return
			}
			continue
		}
		if head == next {
			commit()
			if drain && s.sp.Stats().Records == 0 {
				return
			}
			select {
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
		wait := s.cfg.AckWait - time.Since(ring[head%max].sent)
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
			// take every ack that is there, then commit once
			for {
				seq, err := strconv.ParseUint(m.Subject[len(inbox)+1:], 10, 64)
				switch {
				case err != nil || seq < head || seq >= next:
					// not ours, or of an abandoned window
				case isError(m):
					warn("publish refused by the server")
					if !goBack() {
						return
					}
				default:
					ring[seq%max].acked = true
				}
				select {
				case m = <-acks:
					continue
				default:
				}
				break
			}
			if head < next && ring[head%max].acked {
				fails = 0
			}
			for head < next && ring[head%max].acked {
				sl := &ring[head%max]
				committed = sl.end
				if committed <= openEnd {
					s.replayed.Add(1)
				}
				sl.acked = false
				head++
				pending++
				s.acked.Add(1)
			}
			if pending >= 256 {
				commit()
			}
		case <-ackTimer.C:
		case <-tick.C:
			commit()
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
