package reassembly_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// reassembleLeased feeds c the way a capture engine with recycled
// buffers does: every batch of packets is copied into one of k buffers
// under its own lease; before a buffer is reused its lease is ended and
// the buffer scribbled over. Bytes the Table kept by reference past the
// end of their lease would come out scribbled.
func reassembleLeased(c *flowgen.Capture, cfg reassembly.Config, batch, k int) (*collector, reassembly.Stats) {
	col := &collector{}
	tb := reassembly.NewTable(cfg, col.handler())
	bufs := make([][]byte, k)
	var s reassembly.Segment
	var all []*flowgen.Packet
	for _, p := range c.All() { // p and its payload are reused: copy them
		q := *p
		q.Payload = bytes.Clone(p.Payload)
		all = append(all, &q)
	}
	for b := 0; b*batch < len(all); b++ {
		i := b % k
		id := uint32(b + 1)
		if b >= k {
			tb.EndLease(uint32(b - k + 1))
			for j := range bufs[i] {
				bufs[i][j] = 0xee
			}
		}
		pkts := all[b*batch : min((b+1)*batch, len(all))]
		total := 0
		for _, p := range pkts {
			total += len(p.Payload)
		}
		if cap(bufs[i]) < total {
			bufs[i] = make([]byte, 0, total) // never grown while leased
		}
		bufs[i] = bufs[i][:0]
		for _, p := range pkts {
			segmentOf(&s, p)
			at := len(bufs[i])
			bufs[i] = append(bufs[i], p.Payload...)
			s.Payload = bufs[i][at:len(bufs[i]):len(bufs[i])]
			s.Lease = id
			tb.Feed(&s)
		}
	}
	tb.Flush(reassembly.ReasonFlush)
	return col, tb.Stats()
}

// Leased payloads give the same streams as copied ones, whatever the
// batch size and number of buffers, and payload acknowledged before its
// lease ends is never copied.
func TestLeaseSameStreams(t *testing.T) {
	for seed := range int64(8) {
		cfg := flowgen.Mixed(seed)
		cfg.Conns, cfg.MaxBytes, cfg.Concurrency = 30, 60_000, 8
		cfg.OverlapDiff = 0.05
		c, err := flowgen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, policy := range []reassembly.OverlapPolicy{reassembly.OverlapFirst, reassembly.OverlapLast} {
			rcfg := reassembly.Config{Overlap: policy}
			want, wst := reassemble(c, rcfg)
			for _, shape := range [][2]int{{1, 1}, {7, 2}, {64, 4}, {1000, 8}} {
				name := fmt.Sprintf("seed %d overlap %v batch %d buffers %d", seed, policy, shape[0], shape[1])
				got, st := reassembleLeased(c, rcfg, shape[0], shape[1])
				if d := diffCollectors(want, got); d != "" {
					t.Fatalf("%s: %s", name, d)
				}
				if st.Delivered != wst.Delivered || st.Gaps != wst.Gaps || st.Conflicts != wst.Conflicts {
					t.Errorf("%s: stats %+v, copied %+v", name, st, wst)
				}
				// with one buffer per packet, what waits for an ACK is
				// copied; with the whole capture in leased buffers, nothing
				if (shape[0] == 1 && st.LeaseCopied == 0) || (shape[0]*shape[1] >= 8000 && st.LeaseCopied != 0) || st.LeaseCopied >= wst.Bytes {
					t.Errorf("%s: %d leased bytes copied of %d", name, st.LeaseCopied, wst.Bytes)
				}
				if st.BufAllocs > wst.BufAllocs {
					t.Errorf("%s: %d buffers allocated, %d when copying every payload", name, st.BufAllocs, wst.BufAllocs)
				}
			}
		}
	}
}

func diffCollectors(a, b *collector) string {
	if len(a.conns) != len(b.conns) {
		return fmt.Sprintf("%d connections, want %d", len(b.conns), len(a.conns))
	}
	for i, x := range a.conns {
		y := b.conns[i]
		if x.client != y.client || x.server != y.server || x.reason != y.reason {
			return fmt.Sprintf("connection %d: %v>%v %v, want %v>%v %v", i, y.client, y.server, y.reason, x.client, x.server, x.reason)
		}
		for d := range x.data {
			if !bytes.Equal(x.data[d], y.data[d]) {
				return fmt.Sprintf("connection %d %v>%v dir %d: bytes differ at %d", i, x.client, x.server, d, firstDiff(x.data[d], y.data[d]))
			}
			if !gapsEqual(x.gaps[d], y.gaps[d]) {
				return fmt.Sprintf("connection %d dir %d: gaps %v, want %v", i, d, y.gaps[d], x.gaps[d])
			}
		}
	}
	return ""
}

// A payload held under a lease is read in place until EndLease, then
// copied; acknowledged in time, it is delivered without a copy.
func TestLeaseCopiesOnlyWhatWaits(t *testing.T) {
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	var got []byte
	tb := reassembly.NewTable(reassembly.Config{}, reassembly.Funcs{OnSent: func(_ *reassembly.Conn, d reassembly.Data) { got = append(got, d.Bytes...) }})
	feed := func(from, to netip.AddrPort, f reassembly.Flags, seq, ack uint32, p []byte, lease uint32) {
		s := reassembly.Segment{SrcPort: from.Port(), DstPort: to.Port(), Seq: reassembly.Seq(seq), Ack: reassembly.Seq(ack), Flags: f, WScale: -1, Payload: p, Lease: lease}
		s.SetAddrs(from.Addr(), to.Addr())
		tb.Feed(&s)
	}
	feed(cli, srv, reassembly.SYN, 100, 0, nil, 0)
	feed(srv, cli, reassembly.SYN|reassembly.ACK, 500, 101, nil, 0)
	feed(cli, srv, reassembly.ACK, 101, 501, nil, 0)
	buf := []byte("helloworld")
	feed(cli, srv, reassembly.ACK|reassembly.PSH, 101, 501, buf[:5], 1)
	feed(cli, srv, reassembly.ACK|reassembly.PSH, 106, 501, buf[5:], 2)
	copy(buf, "HELLO") // still leased: the Table reads the caller's bytes
	feed(srv, cli, reassembly.ACK, 501, 106, nil, 0)
	if string(got) != "HELLO" {
		t.Fatalf("delivered %q, want the leased bytes as they are now", got)
	}
	tb.EndLease(1) // nothing left under lease 1
	if st := tb.Stats(); st.LeaseCopied != 0 || st.BufAllocs != 0 {
		t.Fatalf("copied %d bytes, %d buffers", st.LeaseCopied, st.BufAllocs)
	}
	tb.EndLease(2) // "world" is still waiting for its ACK: copied now
	copy(buf[5:], "XXXXX")
	if st := tb.Stats(); st.LeaseCopied != 5 || st.BufAllocs != 1 {
		t.Fatalf("copied %d bytes, %d buffers", st.LeaseCopied, st.BufAllocs)
	}
	tb.EndLease(2) // again, and unknown leases: nothing
	tb.EndLease(99)
	feed(srv, cli, reassembly.ACK, 501, 111, nil, 0)
	if string(got) != "HELLOworld" {
		t.Fatalf("delivered %q", got)
	}
}
