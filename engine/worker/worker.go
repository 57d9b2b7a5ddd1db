// Package worker is one capture worker's share of the engine: it owns a
// reassembly.Table and the handlers behind it, is fed from exactly one
// goroutine, and publishes its counters once per batch so that status
// lines and metrics can read them without a lock on the packet path.
package worker

import (
	"sync"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Snapshot is a worker's published state.
type Snapshot struct {
	Segments   uint64 // segments fed
	Batches    uint64
	Reassembly reassembly.Stats
}

// Worker owns one Table. Feed, Advance, Publish and Flush must be called
// from the worker's goroutine; Snapshot from any.
type Worker struct {
	id       int
	table    *reassembly.Table
	segments uint64
	batches  uint64
	ticker   Ticker // the handler, if it is one

	mu  sync.Mutex
	pub Snapshot
}

// Clocked is a Handler that reads its worker's capture clock (the
// Table's Now, Unix ns) in its callbacks: the logs stamp their lines with
// it, so that rotation on the capture clock follows the worker, not the
// reader.
type Clocked interface {
	UseClock(now func() int64)
}

// Ticker is a Handler told the worker's clock after every Advance (once a
// batch of packets): the logs then say how far the worker has got, so
// that rotated files are closed as the capture is read.
type Ticker interface {
	Advanced(now int64)
}

// New returns worker id with its own Table handing streams to h. A
// Clocked h is given the Table's clock.
func New(id int, cfg reassembly.Config, h reassembly.Handler) *Worker {
	w := &Worker{id: id, table: reassembly.NewTable(cfg, h)}
	if c, ok := h.(Clocked); ok {
		c.UseClock(w.table.Now)
	}
	w.ticker, _ = h.(Ticker)
	return w
}

// ID returns the worker's index.
func (w *Worker) ID() int { return w.id }

// Feed hands one segment to the worker's Table.
func (w *Worker) Feed(s *reassembly.Segment) {
	w.segments++
	w.table.Feed(s)
}

// Advance moves the worker's capture clock (Unix ns), expiring idle
// connections: call it at the end of every batch with the newest capture
// time seen by the source, so that a worker whose flows went quiet keeps
// the same clock as the others.
func (w *Worker) Advance(now int64) {
	w.table.Advance(now)
	if w.ticker != nil {
		w.ticker.Advanced(w.table.Now())
	}
}

// EndLease ends a lease of the segments fed (reassembly.Segment.Lease):
// call it before the memory they were read into is reused.
func (w *Worker) EndLease(id uint32) { w.table.EndLease(id) }

// Publish makes the counters visible to Snapshot; call it once per batch.
func (w *Worker) Publish() {
	w.batches++
	st := w.table.Stats()
	w.mu.Lock()
	w.pub = Snapshot{Segments: w.segments, Batches: w.batches, Reassembly: st}
	w.mu.Unlock()
}

// Snapshot returns the counters as of the last Publish.
func (w *Worker) Snapshot() Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pub
}

// Flush closes every connection with reason r and publishes the result.
func (w *Worker) Flush(r reassembly.Reason) {
	w.table.Flush(r)
	w.Publish()
}
