package live

import (
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
)

// statusState turns counters into rates between two Status calls.
type statusState struct {
	ws          []*lworker
	start, prev time.Time
	frames      []uint64
	bytes       uint64
	drops       uint64
}

func newStatusState(ws []*lworker, start time.Time) *statusState {
	return &statusState{ws: ws, start: start, prev: start, frames: make([]uint64, len(ws))}
}

func (s *statusState) next(now time.Time) Status {
	st := Status{Elapsed: now.Sub(s.start), Interval: now.Sub(s.prev), Share: make([]float64, len(s.ws))}
	var kern afpacket.Stats
	var dFrames uint64
	delta := make([]uint64, len(s.ws))
	for i, w := range s.ws {
		f := w.frames.Load()
		delta[i] = f - s.frames[i]
		dFrames += delta[i]
		s.frames[i] = f
		st.Packets += f
		st.Bytes += w.bytes.Load()
		st.Active += w.w.Snapshot().Reassembly.Active
		if w.bp != nil {
			st.Bypassed += w.bp.conns.Load()
		}
		if ks, err := w.ring.Stats(); err == nil {
			kern.Add(ks)
		}
	}
	if dFrames > 0 {
		for i := range delta {
			st.Share[i] = float64(delta[i]) / float64(dFrames)
		}
	}
	if secs := st.Interval.Seconds(); secs > 0 {
		st.PPS = float64(dFrames) / secs
		st.Mbps = float64(st.Bytes-s.bytes) * 8 / secs / 1e6
	}
	st.Drops = kern.Drops
	st.Received = kern.Packets
	st.NewDrops = kern.Drops - s.drops
	s.drops, s.bytes, s.prev = kern.Drops, st.Bytes, now
	return st
}
