package worker

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

func TestPublishAndFlush(t *testing.T) {
	var closed []reassembly.Reason
	w := New(3, reassembly.Config{}, reassembly.Funcs{OnClose: func(_ *reassembly.Conn, r reassembly.Reason) { closed = append(closed, r) }})
	if w.ID() != 3 {
		t.Fatalf("ID %d", w.ID())
	}
	s := reassembly.Segment{TS: 1e18, SrcPort: 40000, DstPort: 80, Flags: reassembly.SYN, Seq: 7, WScale: -1}
	s.SetAddrs(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	w.Feed(&s)
	if got := w.Snapshot(); got.Segments != 0 {
		t.Errorf("counters visible before Publish: %+v", got)
	}
	w.Publish()
	if got := w.Snapshot(); got.Segments != 1 || got.Batches != 1 || got.Reassembly.Active != 1 {
		t.Errorf("after Publish: %+v", got)
	}
	// a reader on another goroutine while the worker goes on
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			_ = w.Snapshot()
		}
	}()
	w.Advance(1e18 + 6*60e9) // past the 5-minute idle timeout
	w.Publish()
	wg.Wait()
	if len(closed) != 1 || closed[0] != reassembly.ReasonTimeout {
		t.Fatalf("closed %v, want one timeout", closed)
	}
	w.Flush(reassembly.ReasonFlush)
	if got := w.Snapshot(); got.Reassembly.Active != 0 || got.Reassembly.Closed[reassembly.ReasonTimeout] != 1 {
		t.Errorf("after Flush: %+v", got.Reassembly)
	}
}

// clockedFuncs records the worker's clock at each close.
type clockedFuncs struct {
	reassembly.Funcs
	now   func() int64
	at    []int64
	ticks []int64
}

func (c *clockedFuncs) UseClock(now func() int64) { c.now = now }
func (c *clockedFuncs) Advanced(now int64)        { c.ticks = append(c.ticks, now) }

func TestClocked(t *testing.T) {
	h := &clockedFuncs{}
	h.OnClose = func(*reassembly.Conn, reassembly.Reason) { h.at = append(h.at, h.now()) }
	w := New(0, reassembly.Config{}, h)
	if h.now == nil {
		t.Fatal("UseClock not called")
	}
	s := reassembly.Segment{TS: 1e18, SrcPort: 40000, DstPort: 80, Flags: reassembly.SYN, Seq: 7, WScale: -1}
	s.SetAddrs(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	w.Feed(&s)
	if got := h.now(); got != 1e18 {
		t.Errorf("clock %d after a segment, want its time", got)
	}
	w.Advance(1e18 + 7*60e9) // the timeout fires on this clock
	w.Flush(reassembly.ReasonFlush)
	if len(h.at) != 1 || h.at[0] != 1e18+7*60e9 {
		t.Errorf("clock at the close %v, want [%d]", h.at, int64(1e18+7*60e9))
	}
	w.Advance(5) // the clock never runs back
	if len(h.ticks) != 2 || h.ticks[0] != 1e18+7*60e9 || h.ticks[1] != 1e18+7*60e9 {
		t.Errorf("Advanced got %v, want the clock after each Advance", h.ticks)
	}
}
