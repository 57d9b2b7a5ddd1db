package reassembly

import (
	"testing"
	"time"
)

// Conn.Bypass from inside a Handler call: what is buffered then is let go
// undelivered, later payload is only counted, ACKs of it are no gaps, and
// the FIN handshake still closes the connection.
func TestBypassFromHandler(t *testing.T) {
	sc := defScript()
	pkts := cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"},
		{from: 'c', flags: "P.", seq: 6, ack: 1, data: "buffered"},  // waiting for its ACK when the Table acts
		{from: 's', flags: "P.", seq: 1, ack: 6, data: "world"},     // delivers "hello": the handler bypasses
		{from: 'c', flags: "P.", seq: 14, ack: 6, data: "later"},    // the Table lets "buffered" go
		{from: 's', flags: "P.", seq: 6, ack: 19, data: "response"}, // ACKs all of it
		{from: 'c', flags: "F.", seq: 19, ack: 14, ts: time.Second},
		{from: 's', flags: "F.", seq: 14, ack: 20, ts: time.Second},
		{from: 'c', flags: ".", seq: 20, ack: 15, ts: time.Second},
	})
	r := newRecorder()
	var got [2]string
	tb := NewTable(Config{}, Funcs{
		OnOpen: r.Opened,
		OnSent: func(c *Conn, d Data) {
			got[0] += string(d.Bytes)
			if got[0] == "hello" {
				c.Bypass()
			}
			r.Sent(c, d)
		},
		OnReceived: func(c *Conn, d Data) { got[1] += string(d.Bytes); r.Received(c, d) },
		OnClose:    r.Closed,
	})
	for i, p := range pkts {
		tb.Feed(sc.seg(p))
		if st := tb.Stats(); i == 6 && st.Buffered != 0 {
			t.Errorf("after the bypass %d bytes still buffered", st.Buffered)
		}
	}
	tb.Flush(ReasonFlush)
	c := r.conns[0]
	if got[0] != "hello" || got[1] != "" {
		t.Errorf("delivered %q / %q, want only the client's hello", got[0], got[1])
	}
	if c.reason != ReasonFIN || len(c.gaps[0])+len(c.gaps[1]) != 0 || c.stats[0].Missed+c.stats[1].Missed != 0 {
		t.Errorf("closed by %v, gaps %v, missed %d/%d", c.reason, c.gaps, c.stats[0].Missed, c.stats[1].Missed)
	}
	// the ACK that delivered "hello" came with "world": the bypass holds
	// from there on; what is past the delivery point is bypassed, the
	// "buffered" that was let go too: "buffered", "later" (13) and
	// "world", "response" (13), so that delivered + missed + bypassed is
	// each stream's length
	if c.stats[0].Bypassed != 13 || c.stats[1].Bypassed != 13 || c.stats[0].Bytes != 18 || c.stats[1].Bytes != 13 || c.stats[0].Delivered != 5 {
		t.Errorf("bypassed %d/%d bytes of %d/%d", c.stats[0].Bypassed, c.stats[1].Bypassed, c.stats[0].Bytes, c.stats[1].Bytes)
	}
	if st := tb.Stats(); st.Buffered != 0 || st.BypassedBytes != 26 || st.Delivered != 5 {
		t.Errorf("buffered %d, bypassed %d, delivered %d", st.Buffered, st.BypassedBytes, st.Delivered)
	}
}

// A bypassed connection's later packets cut to their headers (the live
// kernel bypass: Segment.Truncated, no payload), one of them sent twice:
// the bytes past the delivery point count by sequence numbers, once, as
// with the whole packets, and delivered + missed + bypassed is each
// stream's length either way.
func TestBypassCountsCutPackets(t *testing.T) {
	for _, cut := range []bool{false, true} {
		sc := defScript()
		pkts := cat(handshake(), []pkt{
			{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello"},
			{from: 's', flags: "P.", seq: 1, ack: 6, data: "world"}, // delivers "hello": bypass
			{from: 's', flags: "P.", seq: 6, ack: 6, data: "0123456789"},
			{from: 's', flags: "P.", seq: 6, ack: 6, data: "0123456789"}, // retransmitted
			{from: 's', flags: "P.", seq: 16, ack: 6, data: "abcdef"},
			{from: 'c', flags: ".", seq: 6, ack: 22},
			{from: 'c', flags: "F.", seq: 6, ack: 22, ts: time.Second},
			{from: 's', flags: "F.", seq: 22, ack: 7, ts: time.Second},
			{from: 'c', flags: ".", seq: 7, ack: 23, ts: time.Second},
		})
		var stats [2]DirStats
		tb := NewTable(Config{}, Funcs{
			OnSent: func(c *Conn, d Data) { c.Bypass() },
			OnClose: func(c *Conn, r Reason) {
				stats[0], stats[1] = c.Stats(FromClient), c.Stats(FromServer)
			},
		})
		for i, p := range pkts {
			s := sc.seg(p)
			if cut && i >= 5 && len(s.Payload) > 0 { // after "world"
				s.Truncated, s.Payload = len(s.Payload), nil
			}
			tb.Feed(s)
		}
		tb.Flush(ReasonFlush)
		c, s := stats[0], stats[1]
		if c.Delivered != 5 || c.Bypassed != 0 || s.Delivered != 0 || s.Bypassed != 21 || s.Missed != 0 {
			t.Errorf("cut %v: client delivered %d bypassed %d, server delivered %d bypassed %d missed %d; want 5/0, 0/21/0",
				cut, c.Delivered, c.Bypassed, s.Delivered, s.Bypassed, s.Missed)
		}
		if st := tb.Stats(); st.BypassedBytes != 21 {
			t.Errorf("cut %v: Table bypassed %d bytes, want 21", cut, st.BypassedBytes)
		}
	}
}
