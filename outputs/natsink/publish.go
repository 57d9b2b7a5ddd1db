package natsink

import (
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// inflight is a published record waiting for its ack.
type inflight struct {
	end int64 // spool position after the record
	paf jetstream.PubAckFuture
}

// run is the publisher goroutine: spool → JetStream, in order.
func (s *Sink) run() {
	defer close(s.done)
	start := s.sp.Start()
	openEnd := s.sp.OpenEnd()
	r := s.sp.NewReader(start)
	defer r.Close()
	committed := start // every record before it is acknowledged
	high := start      // every record before it was published once in this run
	var win []inflight // in spool order
	var pending int64  // acknowledged records not yet given to the spool's Commit
	ready := false
	closing := s.closing
	drain := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var deadline <-chan time.Time
	var lastErr string
	warn := func(err error) {
		if m := err.Error(); m != lastErr {
			lastErr = m
			s.cfg.Logf("nats: %v (records wait in the spool)", err)
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
	// backoff waits d, or less when closing ends.
	backoff := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-closing:
			closing, drain = nil, true
			deadline = time.After(time.Until(time.Unix(0, s.drainBy.Load())))
		case <-deadline:
			return false
		}
		return true
	}
	for {
		if !ready && s.nc.IsConnected() {
			if err := s.ensureStream(); err != nil {
				warn(err)
				if !backoff(500 * time.Millisecond) {
					return
				}
				continue
			}
			ready = true
		}
		failed := false
		for ready && len(win) < s.cfg.MaxInFlight && s.nc.IsConnected() {
			rec, ok, err := r.Next()
			if err != nil {
				s.err = err
				return
			}
			if !ok {
				break
			}
			m := &nats.Msg{
				Subject: s.subj[rec.Kind],
				Data:    append([]byte(nil), rec.Line...),
				Header:  nats.Header{jetstream.MsgIDHeader: []string{string(rec.ID)}},
			}
			paf, err := s.js.PublishMsgAsync(m)
			if err != nil {
				warn(err)
				failed = true
				break
			}
			if rec.End <= high {
				s.retried.Add(1)
			} else {
				s.published.Add(1)
				high = rec.End
			}
			win = append(win, inflight{end: rec.End, paf: paf})
		}
		if failed {
			win = win[:0]
			r.Rewind(committed)
			if !backoff(250 * time.Millisecond) {
				return
			}
			continue
		}
		if len(win) == 0 {
			commit()
			if drain && s.sp.Stats().Records == 0 {
				return
			}
			select {
			case <-s.sp.Notify():
			case <-tick.C:
				commit()
				if err := s.sp.Persist(); err != nil {
					s.err = err
					return
				}
			case <-closing:
				closing, drain = nil, true
				deadline = time.After(time.Until(time.Unix(0, s.drainBy.Load())))
			case <-deadline:
				return
			}
			continue
		}
		select {
		case <-win[0].paf.Ok():
			committed = win[0].end
			if committed <= openEnd {
				s.replayed.Add(1)
			}
			s.acked.Add(1)
			pending++
			win = win[1:]
			if pending >= 256 {
				commit()
			}
		case err := <-win[0].paf.Err():
			// go back to the oldest unacknowledged record; what arrived
			// after it is dropped by the duplicate window
			warn(err)
			win = win[:0]
			r.Rewind(committed)
			if !backoff(250 * time.Millisecond) {
				return
			}
		case <-tick.C:
			commit()
			if err := s.sp.Persist(); err != nil {
				s.err = err
				return
			}
		case <-closing:
			closing, drain = nil, true
			deadline = time.After(time.Until(time.Unix(0, s.drainBy.Load())))
		case <-deadline:
			return
		}
	}
}
