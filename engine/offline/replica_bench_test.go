package offline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/engine/worker"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// BenchmarkReplicaShare measures, on one goroutine, what issue #10's
// two-worker target compares: worker 0's share of a 2-worker replicated
// run over a capture (it reads every record and decodes its own frames)
// against a 1-worker run over exactly worker 0's flows (what one process
// of the ideal does, cmd/flowsplit's part 0), and a 1-worker run over the
// whole capture. share-of-2 / alone-on-half is the per-worker overhead
// of replicated reading; the wall-clock gap to the ideal follows it.
//
//	go test -run '^$' -bench ReplicaShare -count 5 ./engine/offline
func BenchmarkReplicaShare(b *testing.B) {
	dir := b.TempDir()
	c, err := flowgen.Generate(flowgen.Bench(1, 200000))
	if err != nil {
		b.Fatal(err)
	}
	whole := filepath.Join(dir, "whole.pcap")
	if err := c.WritePcapFile(whole); err != nil {
		b.Fatal(err)
	}
	half := filepath.Join(dir, "half.pcap")
	writeHalf(b, whole, half)
	cfg := Config{Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}
	for _, bc := range []struct {
		name string
		path string
		n    int
	}{
		{"share-of-2", whole, 2},
		{"alone-on-half", half, 1},
		{"whole-1", whole, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				w := worker.New(0, cfg.Reassembly, cfg.Handler(0))
				status := &Status{workers: []*worker.Worker{w}, replicated: true, own: make([]decode.Stats, bc.n)}
				_, _, err := replica(context.Background(), &cfg, 0, bc.n, 512, w, status, []string{bc.path})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.Len()), "ns/whole-capture-packet")
		})
	}
}

// writeHalf writes the frames of src that worker 0 of 2 owns (by
// FlowHash of their segment, as cmd/flowsplit) to dst.
func writeHalf(b *testing.B, src, dst string) {
	f, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	dec := decode.New(decode.Config{})
	packets(b, src, func(p *pcapfile.Packet) {
		var seg reassembly.Segment
		if res, _ := dec.Decode(p.Link, p.Data, p.OrigLen, p.TS, &seg); res == decode.ResultTCP && reassembly.FlowHash(&seg, true)%2 != 0 {
			return
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: p.CaptureLen, Length: p.OrigLen}
		if err := w.WritePacket(ci, p.Data); err != nil {
			b.Fatal(err)
		}
	})
}
