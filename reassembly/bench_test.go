package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchFlow pre-builds the segments of one connection streaming n
// segments of size bytes from the client, each ACKed by the server
// (2n segments), so the benchmark measures only the Table.
func benchFlow(cli netip.AddrPort, n, size int, reorder bool) []*Segment {
	sc := defScript()
	sc.cli = cli
	payload := make([]byte, size)
	var out []*Segment
	for _, p := range handshake() {
		out = append(out, sc.seg(p))
	}
	for i := 0; i < n; i++ {
		rel := uint32(1 + i*size)
		d := sc.seg(pkt{from: 'c', flags: "P.", seq: rel, ack: 1})
		d.Payload = payload
		a := sc.seg(pkt{from: 's', flags: ".", seq: 1, ack: rel + uint32(size)})
		out = append(out, d, a)
	}
	if reorder {
		// swap neighbouring data segments: every other one arrives early
		for i := 3; i+2 < len(out); i += 4 {
			out[i], out[i+2] = out[i+2], out[i]
		}
	}
	return out
}

// rewind makes a pre-built flow reusable: a new ISN per round, so each
// round is a new connection past the previous one's linger.
func rewind(segs []*Segment, round int) {
	for _, s := range segs {
		s.Seq += Seq(round * 7919)
		s.Ack += Seq(round * 7919)
		s.TS += 60e9
	}
}

type nopHandler struct{ n uint64 }

func (h *nopHandler) Opened(*Conn)             {}
func (h *nopHandler) Sent(_ *Conn, d Data)     { h.n += uint64(len(d.Bytes)) }
func (h *nopHandler) Received(_ *Conn, d Data) { h.n += uint64(len(d.Bytes)) }
func (h *nopHandler) Closed(*Conn, Reason)     {}

func benchSegments(b *testing.B, flows [][]*Segment, interleave bool) {
	h := &nopHandler{}
	tb := NewTable(Config{}, h)
	total := 0
	for _, f := range flows {
		total += len(f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	fed := 0
	for round := 0; fed < b.N; round++ {
		if round > 0 {
			b.StopTimer()
			tb.Flush(ReasonFlush)
			for _, f := range flows {
				rewind(f, round)
			}
			b.StartTimer()
		}
		if interleave {
			for i := 0; i < len(flows[0]) && fed < b.N; i++ {
				for _, f := range flows {
					tb.Feed(f[i])
					fed++
				}
			}
		} else {
			for _, f := range flows {
				for _, s := range f {
					tb.Feed(s)
					fed++
				}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fed), "ns/segment")
}

// BenchmarkInOrder: one connection, 1460-byte segments each ACKed.
func BenchmarkInOrder(b *testing.B) {
	benchSegments(b, [][]*Segment{benchFlow(testCli, 50000, 1460, false)}, false)
}

// BenchmarkReordered: as InOrder with every other data segment early.
func BenchmarkReordered(b *testing.B) {
	benchSegments(b, [][]*Segment{benchFlow(testCli, 50000, 1460, true)}, false)
}

// BenchmarkManyConns: 10,000 connections interleaved segment by segment.
func BenchmarkManyConns(b *testing.B) {
	var flows [][]*Segment
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		flows = append(flows, benchFlow(netip.AddrPortFrom(a, uint16(1024+i%50000)), 20, 512, false))
	}
	benchSegments(b, flows, true)
}

// BenchmarkManyConnsShuffled: 10,000 connections whose segments arrive in
// a random interleaving (each flow's own order kept), every segment with a
// newer timestamp than the last: the working set is all the connections,
// and the capture clock moves on every packet.
func BenchmarkManyConnsShuffled(b *testing.B) {
	var flows [][]*Segment
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		flows = append(flows, benchFlow(netip.AddrPortFrom(a, uint16(1024+i%50000)), 20, 512, false))
	}
	var order []int
	for i, f := range flows {
		for range f {
			order = append(order, i)
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	next := make([]int, len(flows))
	shuffled := make([]*Segment, 0, len(order))
	for i, fi := range order {
		s := flows[fi][next[fi]]
		next[fi]++
		s.TS += int64(i) * 1000
		shuffled = append(shuffled, s)
	}
	benchSegments(b, [][]*Segment{shuffled}, false)
}

// BenchmarkFlood: a SYN flood (or a spray of random ACKs) from distinct
// 4-tuples into a Table holding at most 100k half-open connections, so
// that in the steady state every packet hatches one and evicts the oldest
// (which reaches the Handler). ns per flood packet, 0 allocations.
func BenchmarkFlood(b *testing.B) {
	for _, kind := range []struct {
		name  string
		flags Flags
	}{{"SYN", SYN}, {"ACK", ACK}} {
		b.Run(kind.name, func(b *testing.B) {
			tb := NewTable(Config{MaxHalfOpen: 100_000}, &nopHandler{})
			var s Segment
			rng := rand.New(rand.NewPCG(1, 2))
			warm := func(i int) {
				fillSYN(&s, i, epoch0+int64(i)*1000)
				s.Flags, s.Seq, s.Ack = kind.flags, Seq(rng.Uint32()), Seq(rng.Uint32())
				s.SrcPort = uint16(i) | 1024
				tb.Feed(&s)
			}
			for i := range 200_000 {
				warm(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				warm(200_000 + i)
			}
			b.StopTimer()
			if st := tb.Stats(); st.HalfOpen != 100_000 {
				b.Fatalf("half-open %d", st.HalfOpen)
			}
		})
	}
}
