package reassembly

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestScenarios(t *testing.T) {
	type want struct {
		c2s, s2c         string
		c2sGaps, s2cGaps string
		reason           Reason
		unacked          [2]uint64
		midstream        bool
		conflicts        uint64 // client direction
	}
	cases := []struct {
		name  string
		cfg   Config
		sc    func(*script)
		pkts  []pkt
		want  want
		stats func(t *testing.T, st Stats)
	}{
		{
			name: "clean exchange closed by FIN",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GET / HTTP/1.0\r\n\r\n"},
				{from: 's', flags: ".", seq: 1, ack: 19},
				{from: 's', flags: "P.", seq: 1, ack: 19, data: "HTTP/1.0 200 OK\r\n\r\nhi"},
				{from: 's', flags: "F.", seq: 22, ack: 19},
				{from: 'c', flags: ".", seq: 19, ack: 23},
				{from: 'c', flags: "F.", seq: 19, ack: 23},
				{from: 's', flags: ".", seq: 23, ack: 20},
			}),
			want: want{c2s: "GET / HTTP/1.0\r\n\r\n", s2c: "HTTP/1.0 200 OK\r\n\r\nhi", reason: ReasonFIN},
			stats: func(t *testing.T, st Stats) {
				if st.Ghosts != 1 {
					t.Errorf("the last ACK should be absorbed as a ghost, Ghosts=%d", st.Ghosts)
				}
			},
		},
		{
			name: "out of order segments released in order",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 6, ack: 1, data: "world"},
				{from: 'c', flags: "P.", seq: 11, ack: 1, data: "!"},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"},
				{from: 's', flags: ".", seq: 1, ack: 12},
			}),
			want: want{c2s: "helloworld!", reason: ReasonFlush},
		},
		{
			name: "retransmissions and duplicates delivered once",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abcdef"},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abcdef"},
				{from: 's', flags: ".", seq: 1, ack: 7},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abcdef"},
				{from: 'c', flags: "P.", seq: 4, ack: 1, data: "defghi"},
				{from: 's', flags: ".", seq: 1, ack: 10},
			}),
			want: want{c2s: "abcdefghi", reason: ReasonFlush},
			stats: func(t *testing.T, st Stats) {
				if st.Duplicates != 2 || st.Overlaps != 1 || st.Conflicts != 0 {
					t.Errorf("dups=%d overlaps=%d conflicts=%d, want 2 1 0", st.Duplicates, st.Overlaps, st.Conflicts)
				}
			},
		},
		{
			name: "conflicting overlap: first copy wins by default",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GOOD"},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "EVIL"},
				{from: 's', flags: ".", seq: 1, ack: 5},
			}),
			want: want{c2s: "GOOD", reason: ReasonFlush, conflicts: 1},
			stats: func(t *testing.T, st Stats) {
				if st.Conflicts != 1 {
					t.Errorf("Conflicts=%d, want 1", st.Conflicts)
				}
			},
		},
		{
			name: "conflicting overlap: last copy wins with OverlapLast",
			cfg:  Config{Overlap: OverlapLast},
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GOOD"},
				{from: 'c', flags: "P.", seq: 3, ack: 1, data: "ILxx"},
				{from: 's', flags: ".", seq: 1, ack: 7},
			}),
			want: want{c2s: "GOILxx", reason: ReasonFlush, conflicts: 1},
		},
		{
			name: "sequence numbers wrap inside the stream",
			sc:   func(s *script) { s.isnC, s.isnS = 0xfffffffa, 0xfffffff0 },
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "0123"},
				{from: 'c', flags: "P.", seq: 9, ack: 1, data: "89ab"},
				{from: 'c', flags: "P.", seq: 5, ack: 1, data: "4567"},
				{from: 's', flags: "P.", seq: 1, ack: 13, data: strings.Repeat("x", 20)},
				{from: 'c', flags: ".", seq: 13, ack: 21},
			}),
			want: want{c2s: "0123456789ab", s2c: strings.Repeat("x", 20), reason: ReasonFlush},
		},
		{
			name: "ACK gating: unACKed tail delivered flagged at flush",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "acked"},
				{from: 's', flags: ".", seq: 1, ack: 6},
				{from: 'c', flags: "P.", seq: 6, ack: 1, data: "pending"},
			}),
			want: want{c2s: "ackedpending", reason: ReasonFlush, unacked: [2]uint64{7, 0}},
		},
		{
			name: "capture loss: the peer ACKs bytes never captured",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "VERY"},
				// seq 5..8 lost at the capture point
				{from: 'c', flags: "P.", seq: 9, ack: 1, data: "DATA"},
				{from: 's', flags: ".", seq: 1, ack: 13},
				{from: 'c', flags: "P.", seq: 13, ack: 1, data: "more"},
				{from: 's', flags: ".", seq: 1, ack: 17},
			}),
			want: want{c2s: "VERYDATAmore", c2sGaps: "4+4;", reason: ReasonFlush},
		},
		{
			name: "ACK overtaking its data at the capture point is no gap",
			pkts: cat(handshake(), []pkt{
				{from: 's', flags: ".", seq: 1, ack: 9},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abcd"},
				{from: 'c', flags: "P.", seq: 5, ack: 1, data: "efgh"},
			}),
			want: want{c2s: "abcdefgh", reason: ReasonFlush},
		},
		{
			name: "hole before FIN revealed by the FIN's ACK",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "head"},
				{from: 'c', flags: "F.", seq: 9, ack: 1},
				{from: 's', flags: "F.", seq: 1, ack: 10},
				{from: 'c', flags: ".", seq: 10, ack: 2},
			}),
			want: want{c2s: "head", c2sGaps: "4+4;", reason: ReasonFIN},
		},
		{
			name: "RST: ACKed data delivered, data on the RST not",
			pkts: cat(handshake(), []pkt{
				{from: 's', flags: "P.", seq: 1, ack: 1, data: "1234567"},
				{from: 's', flags: "P.", seq: 8, ack: 1, data: "89ab"},
				{from: 'c', flags: "R.", seq: 1, ack: 8, data: "rst-payload"},
			}),
			want: want{s2c: "123456789ab", reason: ReasonRST, unacked: [2]uint64{0, 4}},
			stats: func(t *testing.T, st Stats) {
				if st.RSTPayload != 11 {
					t.Errorf("RSTPayload=%d, want 11", st.RSTPayload)
				}
			},
		},
		{
			name: "injected RST with a bad ACK right after the SYN is ignored",
			pkts: []pkt{
				{from: 'c', flags: "S", seq: 0},
				{from: 's', flags: "R.", seq: 0, ack: 0},
				{from: 's', flags: "S.", seq: 0, ack: 1},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "data"},
				{from: 's', flags: ".", seq: 1, ack: 5},
			},
			want: want{c2s: "data", reason: ReasonFlush},
		},
		{
			name: "RST whose sender keeps talking is cancelled",
			pkts: []pkt{
				{from: 'c', flags: "S", seq: 0},
				{from: 's', flags: "R.", seq: 77, ack: 1},
				{from: 's', flags: "S.", seq: 0, ack: 1},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GET"},
				{from: 's', flags: "P.", seq: 1, ack: 4, data: "OK"},
				{from: 'c', flags: ".", seq: 4, ack: 3},
			},
			want: want{c2s: "GET", s2c: "OK", reason: ReasonFlush},
		},
		{
			name: "half-close: the other direction keeps flowing",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "PF.", seq: 1, ack: 1, data: "req"},
				{from: 's', flags: ".", seq: 1, ack: 5},
				{from: 's', flags: "P.", seq: 1, ack: 5, data: "part1"},
				{from: 'c', flags: ".", seq: 5, ack: 6},
				{from: 's', flags: "P.", seq: 6, ack: 5, data: "part2"},
				{from: 's', flags: "F.", seq: 11, ack: 5},
				{from: 'c', flags: ".", seq: 5, ack: 12},
			}),
			want: want{c2s: "req", s2c: "part1part2", reason: ReasonFIN},
		},
		{
			name: "midstream pickup: roles from the well-known port",
			pkts: []pkt{
				{from: 's', flags: "P.", seq: 100, ack: 50, data: "late reply"},
				{from: 'c', flags: "P.", seq: 50, ack: 110, data: "next request"},
				{from: 's', flags: ".", seq: 110, ack: 62},
			},
			want: want{c2s: "next request", s2c: "late reply", reason: ReasonFlush, midstream: true},
		},
		{
			name: "picked up at the SYN+ACK",
			pkts: []pkt{
				{from: 's', flags: "S.", seq: 0, ack: 1},
				{from: 'c', flags: ".", seq: 1, ack: 1},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"},
				{from: 's', flags: ".", seq: 1, ack: 6},
			},
			want: want{c2s: "hello", reason: ReasonFlush, midstream: true},
		},
		{
			name: "one-sided capture: delivered unACKed at flush",
			pkts: []pkt{
				{from: 'c', flags: "S", seq: 0},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "only"},
				{from: 'c', flags: "P.", seq: 5, ack: 1, data: "client"},
			},
			want: want{c2s: "onlyclient", reason: ReasonFlush, unacked: [2]uint64{10, 0}},
		},
		{
			name: "immediate delivery needs no ACK",
			cfg:  Config{Delivery: Immediate},
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "now"},
			}),
			want: want{c2s: "now", reason: ReasonFlush},
		},
		{
			name: "TCP Fast Open data on the SYN",
			pkts: []pkt{
				{from: 'c', flags: "S", seq: 0, data: "tfo"},
				{from: 's', flags: "S.", seq: 0, ack: 4},
				{from: 'c', flags: "P.", seq: 4, ack: 1, data: "+more"},
				{from: 's', flags: ".", seq: 1, ack: 9},
			},
			want: want{c2s: "tfo+more", reason: ReasonFlush},
		},
		{
			name: "keep-alive and zero-window probe leave the stream intact",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abc"},
				{from: 's', flags: ".", seq: 1, ack: 4},
				{from: 'c', flags: ".", seq: 3, ack: 1, data: "c"},
				{from: 'c', flags: ".", seq: 4, ack: 1, data: "d"},
				{from: 'c', flags: ".", seq: 4, ack: 1, data: "d"},
				{from: 's', flags: ".", seq: 1, ack: 5},
			}),
			want: want{c2s: "abcd", reason: ReasonFlush},
		},
		{
			name: "urgent data stays inline",
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "PU.", seq: 1, ack: 1, data: "ab!"},
				{from: 'c', flags: "P.", seq: 4, ack: 1, data: "cd"},
				{from: 's', flags: ".", seq: 1, ack: 6},
			}),
			want: want{c2s: "ab!cd", reason: ReasonFlush},
		},
		{
			name: "SYN with ECE and CWR is a SYN",
			pkts: []pkt{
				{from: 'c', flags: "SEW", seq: 0},
				{from: 's', flags: "SE.", seq: 0, ack: 1},
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "ecn"},
				{from: 's', flags: ".", seq: 1, ack: 4},
			},
			want: want{c2s: "ecn", reason: ReasonFlush},
		},
		{
			name: "split handshake keeps one connection",
			pkts: []pkt{
				{from: 'c', flags: "S", seq: 0},
				{from: 's', flags: "S", seq: 0},
				{from: 'c', flags: "S.", seq: 0, ack: 1},
				{from: 's', flags: ".", seq: 1, ack: 1},
				{from: 'c', flags: ".", seq: 1, ack: 1, data: "GET "},
				{from: 's', flags: ".", seq: 1, ack: 5},
			},
			want: want{c2s: "GET ", reason: ReasonFlush},
		},
		{
			name: "VLAN ids are kept",
			sc:   func(s *script) { s.vlan = []uint16{6, 7} },
			pkts: cat(handshake(), []pkt{
				{from: 'c', flags: "P.", seq: 1, ack: 1, data: "x"},
				{from: 's', flags: ".", seq: 1, ack: 2},
			}),
			want: want{c2s: "x", reason: ReasonFlush},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := defScript()
			if tc.sc != nil {
				tc.sc(&sc)
			}
			r, tb := sc.run(t, tc.cfg, tc.pkts)
			if len(r.conns) != 1 {
				t.Fatalf("got %d connections, want 1", len(r.conns))
			}
			c := r.conns[0]
			if c.client != sc.cli || c.server != sc.srv {
				t.Errorf("roles: client %v server %v", c.client, c.server)
			}
			if got := string(c.streams[FromClient]); got != tc.want.c2s {
				t.Errorf("client stream %q, want %q", got, tc.want.c2s)
			}
			if got := string(c.streams[FromServer]); got != tc.want.s2c {
				t.Errorf("server stream %q, want %q", got, tc.want.s2c)
			}
			if g := gapsString(c.gaps[FromClient]); g != tc.want.c2sGaps {
				t.Errorf("client gaps %q, want %q", g, tc.want.c2sGaps)
			}
			if g := gapsString(c.gaps[FromServer]); g != tc.want.s2cGaps {
				t.Errorf("server gaps %q, want %q", g, tc.want.s2cGaps)
			}
			if c.reason != tc.want.reason || c.closed != 1 {
				t.Errorf("closed %d times, reason %v, want once, %v", c.closed, c.reason, tc.want.reason)
			}
			if c.unacked != tc.want.unacked {
				t.Errorf("unacked %v, want %v", c.unacked, tc.want.unacked)
			}
			if got := c.stats[FromClient].Conflicts; got != tc.want.conflicts {
				t.Errorf("client conflicts %d, want %d", got, tc.want.conflicts)
			}
			if c.midstream != tc.want.midstream {
				t.Errorf("midstream %v, want %v", c.midstream, tc.want.midstream)
			}
			if len(sc.vlan) > 0 && int(c.vlans.N) != len(sc.vlan) {
				t.Errorf("vlans %v, want %v", c.vlans, sc.vlan)
			}
			st := tb.Stats()
			if st.Buffered != 0 || st.Active != 0 {
				t.Errorf("after flush: buffered %d active %d", st.Buffered, st.Active)
			}
			if tc.stats != nil {
				tc.stats(t, st)
			}
		})
	}
}

func TestPortReuseAndGhosts(t *testing.T) {
	sc := defScript()
	first := cat(handshake(), []pkt{
		{from: 'c', flags: "PF.", seq: 1, ack: 1, data: "one"},
		{from: 's', flags: "F.", seq: 1, ack: 5},
		{from: 'c', flags: ".", seq: 5, ack: 2},
		{from: 's', flags: ".", seq: 2, ack: 5, ts: 3 * time.Millisecond}, // late ACK
	})
	r := newRecorder()
	tb := NewTable(Config{}, r)
	for i, p := range first {
		p.ts = time.Duration(i) * time.Millisecond
		tb.Feed(sc.seg(p))
	}
	sc2 := sc
	sc2.isnC, sc2.isnS = 90000, 70000
	sc2.epoch += int64(2 * time.Second)
	for i, p := range cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "two"},
		{from: 's', flags: ".", seq: 1, ack: 4},
	}) {
		p.ts = time.Duration(i) * time.Millisecond
		tb.Feed(sc2.seg(p))
	}
	tb.Flush(ReasonFlush)
	if len(r.conns) != 2 {
		t.Fatalf("got %d connections, want 2", len(r.conns))
	}
	if string(r.conns[0].streams[0]) != "one" || r.conns[0].reason != ReasonFIN {
		t.Errorf("first: %q %v", r.conns[0].streams[0], r.conns[0].reason)
	}
	if string(r.conns[1].streams[0]) != "two" || r.conns[1].reason != ReasonFlush {
		t.Errorf("second: %q %v", r.conns[1].streams[0], r.conns[1].reason)
	}
	if r.conns[0].id == r.conns[1].id {
		t.Errorf("both connections have id %x", r.conns[0].id)
	}
	// the connection closes once both FINs are in and every byte before
	// them is delivered: the client's last ACK and the server's late one
	// are absorbed by the lingering 4-tuple
	if st := tb.Stats(); st.Ghosts != 2 {
		t.Errorf("Ghosts=%d, want 2", st.Ghosts)
	}
}

func TestIdleTimeoutOnCaptureClock(t *testing.T) {
	sc := defScript()
	r := newRecorder()
	tb := NewTable(Config{IdleTimeout: time.Minute}, r)
	for _, p := range cat(handshake(), []pkt{{from: 'c', flags: "P.", seq: 1, ack: 1, data: "idle"}}) {
		tb.Feed(sc.seg(p))
	}
	// a capture from years ago: nothing expires by the wall clock
	tb.Advance(epoch0 + int64(59*time.Second))
	if len(r.conns) != 1 || r.conns[0].closed != 0 {
		t.Fatalf("closed before the timeout")
	}
	// another flow's packet moves the capture clock past the timeout
	other := defScript()
	other.cli = netip.MustParseAddrPort("10.0.0.9:41000")
	other.epoch = epoch0 + int64(61*time.Second)
	tb.Feed(other.seg(pkt{from: 'c', flags: "S"}))
	if r.conns[0].closed != 1 || r.conns[0].reason != ReasonTimeout {
		t.Fatalf("first connection: closed=%d reason=%v, want timeout", r.conns[0].closed, r.conns[0].reason)
	}
	if string(r.conns[0].streams[0]) != "idle" || r.conns[0].unacked[0] != 4 {
		t.Errorf("timeout flush: %q unacked %d", r.conns[0].streams[0], r.conns[0].unacked[0])
	}
	if tb.Len() != 1 {
		t.Errorf("Len=%d, want 1", tb.Len())
	}
}

func TestNewSYNOnLiveConnectionIsReuse(t *testing.T) {
	sc := defScript()
	r := newRecorder()
	tb := NewTable(Config{}, r)
	for _, p := range cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "old"},
		{from: 's', flags: ".", seq: 1, ack: 4},
	}) {
		tb.Feed(sc.seg(p))
	}
	sc2 := sc
	sc2.isnC = 777777
	sc2.epoch += int64(time.Second)
	for _, p := range cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "new"},
		{from: 's', flags: ".", seq: 1, ack: 4},
	}) {
		tb.Feed(sc2.seg(p))
	}
	tb.Flush(ReasonFlush)
	if len(r.conns) != 2 || r.conns[0].reason != ReasonReused || r.conns[1].reason != ReasonFlush {
		t.Fatalf("got %d conns: %+v", len(r.conns), r.conns)
	}
	if string(r.conns[0].streams[0]) != "old" || string(r.conns[1].streams[0]) != "new" {
		t.Errorf("streams %q %q", r.conns[0].streams[0], r.conns[1].streams[0])
	}
	if st := tb.Stats(); st.Active != 0 || st.Closed[ReasonReused] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A connection picked up at its SYN+ACK whose client SYN is captured late
// (capture reordering) stays one connection: the SYN+ACK's ACK tells the
// client's ISN, so the SYN is a retransmission, not port reuse.
func TestLateSYNAfterSYNACKPickup(t *testing.T) {
	sc := defScript()
	r, tb := sc.run(t, Config{}, []pkt{
		{from: 's', flags: "S.", seq: 0, ack: 1},
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"},
		{from: 'c', flags: "S", seq: 0},
		{from: 's', flags: "P.", seq: 1, ack: 6, data: "world"},
		{from: 'c', flags: ".", seq: 6, ack: 6},
	})
	if len(r.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(r.conns))
	}
	c := r.conns[0]
	if string(c.streams[0]) != "hello" || string(c.streams[1]) != "world" || c.reason != ReasonFlush {
		t.Errorf("streams %q %q reason %v", c.streams[0], c.streams[1], c.reason)
	}
	if tb.Stats().Closed[ReasonReused] != 0 {
		t.Errorf("closed as reused")
	}
}

// After a hole of more than 1 GiB that only a later ACK will confirm, a
// segment the peer's ACK vouches for is in window (it is measured from the
// ACK, not from the delivery point held back by the hole).
func TestSegmentFarPastUnconfirmedHole(t *testing.T) {
	sc := defScript()
	const jump = 1536 << 20 // 1.5 GiB
	r, tb := sc.run(t, Config{}, cat(handshake(), []pkt{
		{from: 's', flags: "P.", seq: 1, ack: 1, data: "abcd"},
		{from: 'c', flags: ".", seq: 1, ack: 5},
		{from: 'c', flags: ".", seq: 1, ack: 5 + jump},
		{from: 's', flags: "P.", seq: 5 + jump, ack: 1, data: "efgh"},
		{from: 's', flags: "F.", seq: 9 + jump, ack: 1},
		{from: 'c', flags: "F.", seq: 1, ack: 10 + jump},
		{from: 's', flags: ".", seq: 10 + jump, ack: 2},
	}))
	c := r.conns[0]
	if string(c.streams[1]) != "abcdefgh" || gapsString(c.gaps[1]) != fmt.Sprintf("4+%d;", jump) {
		t.Errorf("server stream %q gaps %s", c.streams[1], gapsString(c.gaps[1]))
	}
	if st := tb.Stats(); st.OutOfWindow != 0 || st.MissedBytes != jump || c.reason != ReasonFIN {
		t.Errorf("out-of-window %d missed %d reason %v", st.OutOfWindow, st.MissedBytes, c.reason)
	}
}
