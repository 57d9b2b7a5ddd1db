package offline_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

func writeGen(t *testing.T, cfg flowgen.Config) (string, *flowgen.Capture) {
	t.Helper()
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gen.pcap")
	if err := c.WritePcapFile(p); err != nil {
		t.Fatal(err)
	}
	return p, c
}

// reasons counts close reasons, one counter set per worker (each handler
// runs on its own worker's goroutine).
type reasons struct{ per [8][16]int }

func (r *reasons) handler(w int) reassembly.Handler {
	return reassembly.Funcs{OnClose: func(_ *reassembly.Conn, why reassembly.Reason) { r.per[w][why]++ }}
}

func (r *reasons) count(why reassembly.Reason) int {
	n := 0
	for w := range r.per {
		n += r.per[w][why]
	}
	return n
}

func TestCancelClosesWithShutdown(t *testing.T) {
	cfg := flowgen.Mixed(7)
	cfg.Open = 1 // nothing closes by itself
	cfg.PortReuse, cfg.RST = 0, 0
	path, c := writeGen(t, cfg)
	for _, workers := range []int{1, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		var r reasons
		batches := 0
		sum, err := offline.Run(ctx, offline.Config{
			Workers:   workers,
			BatchSize: 64,
			Handler:   r.handler,
			Progress: func(uint64, uint64) {
				if batches++; batches == 20 {
					cancel()
				}
			},
		}, path)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if sum.Packets != 20*64 || sum.Packets >= uint64(c.Len()) {
			t.Errorf("workers %d: read %d packets after cancelling at 1280 (of %d)", workers, sum.Packets, c.Len())
		}
		opened := int(sum.Reassembly.Opened)
		if opened == 0 || r.count(reassembly.ReasonShutdown) != opened {
			t.Errorf("workers %d: opened %d, closed by shutdown %d", workers, opened, r.count(reassembly.ReasonShutdown))
		}
	}
}

func TestStatusSnapshotWhileRunning(t *testing.T) {
	path, c := writeGen(t, flowgen.Mixed(8))
	var st *offline.Status
	var mid offline.Summary
	calls := 0
	sum, err := offline.Run(context.Background(), offline.Config{
		Workers:   2,
		BatchSize: 128,
		Handler:   func(int) reassembly.Handler { return reassembly.Funcs{} },
		Started:   func(s *offline.Status) { st = s },
		Progress: func(uint64, uint64) {
			if calls++; calls == 5 {
				mid = st.Snapshot()
			}
		},
	}, path)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Packets != 5*128 || len(mid.PerWorker) != 2 {
		t.Errorf("mid-run snapshot: %d packets, %d workers", mid.Packets, len(mid.PerWorker))
	}
	if final := st.Snapshot(); final.Packets != uint64(c.Len()) || final.Reassembly.Opened != sum.Reassembly.Opened {
		t.Errorf("final snapshot %d packets %d conns, run %d/%d", final.Packets, final.Reassembly.Opened, c.Len(), sum.Reassembly.Opened)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	_, err := offline.Run(context.Background(), offline.Config{Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}, filepath.Join(t.TempDir(), "nope.pcap"))
	if err == nil {
		t.Fatal("no error for a missing file")
	}
}
