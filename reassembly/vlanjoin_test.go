package reassembly

import (
	"testing"
	"time"
)

// feedTagged feeds pkts with the client's packets tagged cv and the
// server's sv (nil: untagged), through a Table with cfg.
func feedTagged(t *testing.T, cfg Config, sc script, cv, sv []uint16, pkts []pkt) (*recorder, *Table) {
	t.Helper()
	r := newRecorder()
	tb := NewTable(cfg, r)
	for _, p := range pkts {
		s := sc.seg(p)
		tags := cv
		if p.from == 's' {
			tags = sv
		}
		for _, v := range tags {
			s.VLANs.Push(v)
		}
		tb.Feed(s)
	}
	tb.Flush(ReasonFlush)
	return r, tb
}

func exchange() []pkt {
	return cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GET / HTTP/1.0\r\n\r\n"},
		{from: 's', flags: "P.", seq: 1, ack: 19, data: "HTTP/1.0 200 OK\r\n\r\n"},
		{from: 'c', flags: "F.", seq: 19, ack: 20},
		{from: 's', flags: "F.", seq: 20, ack: 20},
		{from: 'c', flags: ".", seq: 20, ack: 21},
	})
}

// midstream is a connection picked up without its SYN, each side's first
// packet carrying data.
func midstream() []pkt {
	return []pkt{
		{from: 'c', flags: "P.", seq: 101, ack: 201, data: "request"},
		{from: 's', flags: "P.", seq: 201, ack: 108, data: "response"},
		{from: 'c', flags: ".", seq: 108, ack: 209},
	}
}

func TestVLANJoin(t *testing.T) {
	v10, v20 := []uint16{10}, []uint16{20}
	for _, tc := range []struct {
		name   string
		cv, sv []uint16
		pkts   []pkt
		off    bool
		joined bool
	}{
		{"client tagged, server not", v10, nil, exchange(), false, true},
		{"server tagged, client not", nil, v10, exchange(), false, true},
		{"two tags", v10, v20, exchange(), false, true},
		{"two stacked tags against one", []uint16{100, 10}, v10, exchange(), false, true},
		{"midstream, sequence numbers agree", v10, nil, midstream(), false, true},
		{"turned off", v10, nil, exchange(), true, false},
		{"sequence numbers disagree", v10, nil, []pkt{
			{from: 'c', flags: "P.", seq: 101, ack: 201, data: "request"},
			{from: 's', flags: "P.", seq: 90_000_000, ack: 70_000_000, data: "response"},
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, tb := feedTagged(t, Config{NoVLANJoin: tc.off}, defScript(), tc.cv, tc.sv, tc.pkts)
			if !tc.joined {
				if len(r.conns) != 2 || tb.Stats().VLANJoined != 0 {
					t.Fatalf("%d connections, %d joined: want two apart", len(r.conns), tb.Stats().VLANJoined)
				}
				return
			}
			if len(r.conns) != 1 || tb.Stats().VLANJoined != 1 {
				t.Fatalf("%d connections, %d joined: want one", len(r.conns), tb.Stats().VLANJoined)
			}
			c := r.conns[0]
			var want [2]string
			for _, p := range tc.pkts {
				want[map[byte]int{'c': 0, 's': 1}[p.from]] += p.data
			}
			if string(c.streams[0]) != want[0] || string(c.streams[1]) != want[1] || len(c.gaps[0])+len(c.gaps[1]) != 0 {
				t.Fatalf("streams %q / %q gaps %v", c.streams[0], c.streams[1], c.gaps)
			}
			if c.vlansOf[0] != tagsOf(tc.cv) || c.vlansOf[1] != tagsOf(tc.sv) {
				t.Errorf("VLANsOf %v / %v, want %v / %v", c.vlansOf[0], c.vlansOf[1], tc.cv, tc.sv)
			}
		})
	}
}

func tagsOf(ids []uint16) VLANs {
	var v VLANs
	for _, id := range ids {
		v.Push(id)
	}
	return v
}

// The same 4-tuple with both directions on each of two VLANs (two networks
// reusing addresses) stays two connections, even when the second starts
// while the first is still open.
func TestVLANJoinKeepsTwoFullConnections(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{}, r)
	sc := defScript()
	feed := func(p pkt, vlan uint16) {
		s := sc.seg(p)
		s.VLANs.Push(vlan)
		tb.Feed(s)
	}
	hs := handshake()
	for _, p := range hs {
		feed(p, 10)
	}
	for _, p := range hs {
		p.ts += time.Millisecond
		feed(p, 20)
	}
	feed(pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "ten"}, 10)
	feed(pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "twenty"}, 20)
	feed(pkt{from: 's', flags: ".", seq: 1, ack: 4}, 10)
	feed(pkt{from: 's', flags: ".", seq: 1, ack: 7}, 20)
	tb.Flush(ReasonFlush)
	if len(r.conns) != 2 || tb.Stats().VLANJoined != 0 {
		t.Fatalf("%d connections, %d joined", len(r.conns), tb.Stats().VLANJoined)
	}
	for i, want := range []string{"ten", "twenty"} {
		c := r.conns[i]
		if string(c.streams[0]) != want || c.vlans.IDs[0] != uint16(10*(i+1)) || c.unacked[0] != 0 {
			t.Errorf("connection %d: %q on %v", i, c.streams[0], c.vlans)
		}
	}
}

// A joined connection leaves no stale index entry when it goes: after it
// closes and lingers out, both keys start new connections.
func TestVLANJoinRemovesBothKeys(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{Linger: time.Second}, r)
	sc := defScript()
	for round := range 3 {
		sc.epoch = epoch0 + int64(round)*int64(time.Minute)
		sc.isnC += 100_000
		for _, p := range exchange() {
			s := sc.seg(p)
			if p.from == 'c' {
				s.VLANs.Push(10)
			}
			tb.Feed(s)
		}
	}
	tb.Flush(ReasonFlush)
	st := tb.Stats()
	if len(r.conns) != 3 || st.VLANJoined != 3 || st.ClosedBy(ReasonFIN) != 3 || tb.conns.len() != 0 {
		t.Fatalf("%d connections, %d joined, %d by FIN, %d index entries", len(r.conns), st.VLANJoined, st.ClosedBy(ReasonFIN), tb.conns.len())
	}
}
