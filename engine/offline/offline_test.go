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

// modes are the reading modes: one reader goroutine and replicated
// reading by the workers, with batches of 64 packets.
var modes = []struct {
	name string
	cfg  offline.Config
}{
	{"single-reader", offline.Config{SingleReader: true, BatchSize: 64}},
	{"replicated", offline.Config{BatchSize: 64}},
}

func TestCancelClosesWithShutdown(t *testing.T) {
	cfg := flowgen.Mixed(7)
	cfg.Open = 1 // nothing closes by itself
	cfg.PortReuse, cfg.RST = 0, 0
	cfg.Conns = 600
	path, c := writeGen(t, cfg)
	for _, m := range modes {
		for _, workers := range []int{1, 3} {
			ctx, cancel := context.WithCancel(context.Background())
			var r reasons
			calls := 0
			var at uint64
			rc := m.cfg
			rc.Workers, rc.Handler = workers, r.handler
			rc.Progress = func(p, _ uint64) {
				if calls++; calls == 5 {
					at = p
					cancel()
				}
			}
			sum, err := offline.Run(ctx, rc, path)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			// the batch or chunk being read when cancelled is the last
			if at == 0 || sum.Packets != at || sum.Packets >= uint64(c.Len()) {
				t.Errorf("%s workers %d: read %d packets after cancelling at %d (of %d)", m.name, workers, sum.Packets, at, c.Len())
			}
			// Every connection is closed by the shutdown; but with
			// replicated reading a worker other than the lead may have
			// read to the end of this small file before it saw the
			// cancel, and closed its own with the end of input (flush)
			opened := int(sum.Reassembly.Opened)
			shut, flushed := r.count(reassembly.ReasonShutdown), r.count(reassembly.ReasonFlush)
			if m.cfg.SingleReader || workers == 1 {
				if opened == 0 || shut != opened {
					t.Errorf("%s workers %d: opened %d, closed by shutdown %d", m.name, workers, opened, shut)
				}
			} else if opened == 0 || shut == 0 || shut+flushed != opened {
				t.Errorf("%s workers %d: opened %d, closed by shutdown %d and flush %d", m.name, workers, opened, shut, flushed)
			}
		}
	}
}

func TestStatusSnapshotWhileRunning(t *testing.T) {
	cfg := flowgen.Mixed(8)
	cfg.Conns = 600
	path, c := writeGen(t, cfg)
	for _, m := range modes {
		var st *offline.Status
		var mid offline.Summary
		var at uint64
		calls := 0
		rc := m.cfg
		rc.Workers = 2
		rc.Handler = func(int) reassembly.Handler { return reassembly.Funcs{} }
		rc.Started = func(s *offline.Status) { st = s }
		rc.Progress = func(p, _ uint64) {
			if calls++; calls == 5 {
				mid, at = st.Snapshot(), p
			}
		}
		sum, err := offline.Run(context.Background(), rc, path)
		if err != nil {
			t.Fatal(err)
		}
		if at == 0 || mid.Packets != at || len(mid.PerWorker) != 2 {
			t.Errorf("%s: mid-run snapshot: %d packets (progress said %d), %d workers", m.name, mid.Packets, at, len(mid.PerWorker))
		}
		if final := st.Snapshot(); final.Packets != uint64(c.Len()) || final.Reassembly.Opened != sum.Reassembly.Opened {
			t.Errorf("%s: final snapshot %d packets %d conns, run %d/%d", m.name, final.Packets, final.Reassembly.Opened, c.Len(), sum.Reassembly.Opened)
		}
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	_, err := offline.Run(context.Background(), offline.Config{Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}, filepath.Join(t.TempDir(), "nope.pcap"))
	if err == nil {
		t.Fatal("no error for a missing file")
	}
}
