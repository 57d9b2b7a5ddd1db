package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestMaxConnsEvictsLeastRecentlyActive(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{MaxConns: 2}, r)
	for i := 0; i < 3; i++ {
		sc := defScript()
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), uint16(40000+i))
		sc.epoch += int64(i) * int64(time.Millisecond)
		tb.Feed(sc.seg(pkt{from: 'c', flags: "S"}))
		tb.Feed(sc.seg(pkt{from: 's', flags: "S.", ack: 1}))
	}
	if r.conns[0].closed != 1 || r.conns[0].reason != ReasonEvicted || r.conns[1].closed != 0 {
		t.Fatalf("eviction: %+v %+v", r.conns[0], r.conns[1])
	}
	if st := tb.Stats(); st.Closed[ReasonEvicted] != 1 || st.Active != 2 || tb.Len() != 2 {
		t.Errorf("stats %+v len %d", st, tb.Len())
	}
}

func TestMaxConnBufferForcesDelivery(t *testing.T) {
	sc := defScript()
	chunk := strings.Repeat("a", 1000)
	var pkts []pkt
	pkts = append(pkts, handshake()...)
	// never ACKed, with a hole at the start: only the limit can move it
	for i := 1; i <= 20; i++ {
		pkts = append(pkts, pkt{from: 'c', flags: "P.", seq: uint32(1 + i*1000), ack: 1, data: chunk})
	}
	pkts = append(pkts, pkt{from: 's', flags: ".", seq: 1, ack: 1})
	r, tb := sc.run(t, Config{MaxConnBuffer: 8 << 10}, pkts)
	c := r.conns[0]
	if got := len(c.streams[0]); got != 20000 {
		t.Errorf("delivered %d bytes, want 20000", got)
	}
	if g := gapsString(c.gaps[0]); g != "0+1000;" {
		t.Errorf("gaps %q", g)
	}
	st := tb.Stats()
	if st.Forced == 0 || st.MaxBuffered > 8<<10+1024 {
		t.Errorf("forced %d, max buffered %d", st.Forced, st.MaxBuffered)
	}
}

func TestMaxBufferAcrossConnections(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{MaxBuffer: 64 << 10, MaxConnBuffer: 64 << 10}, r)
	data := strings.Repeat("z", 1400)
	for i := 0; i < 100; i++ {
		sc := defScript()
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), uint16(30000+i))
		for _, p := range cat(handshake(), []pkt{
			{from: 'c', flags: "P.", seq: 1, ack: 1, data: data},
			{from: 'c', flags: "P.", seq: 1401, ack: 1, data: data},
		}) {
			tb.Feed(sc.seg(p))
		}
		if st := tb.Stats(); st.Buffered > 64<<10 {
			t.Fatalf("buffered %d > limit after conn %d", st.Buffered, i)
		}
	}
	tb.Flush(ReasonFlush)
	total := 0
	for _, c := range r.conns {
		total += len(c.streams[0])
	}
	if total != 100*2800 {
		t.Errorf("delivered %d, want %d (nothing captured is lost)", total, 100*2800)
	}
	if tb.Stats().Forced == 0 {
		t.Errorf("no forced delivery counted")
	}
}

func TestOffsetsPast4GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 4.5 GB through the table")
	}
	sc := defScript()
	sc.isnC = 0xfff00000
	var got, last uint64
	h := Funcs{OnSent: func(c *Conn, d Data) {
		if d.Offset != got {
			t.Fatalf("offset %d, want %d", d.Offset, got)
		}
		got += uint64(len(d.Bytes))
		last = d.Offset
	}}
	tb := NewTable(Config{}, h)
	for _, p := range handshake() {
		tb.Feed(sc.seg(p))
	}
	payload := make([]byte, 65000)
	const n = 70000 // 4.55e9 bytes: past 2^32, more than one wrap
	s := sc.seg(pkt{from: 'c', flags: "."})
	a := sc.seg(pkt{from: 's', flags: "."})
	for i := 0; i < n; i++ {
		rel := uint32(1 + uint64(i)*65000)
		// the ACK first: data is handed over straight from the packet
		a.Seq, a.Ack = Seq(sc.isnS+1), Seq(sc.isnC+rel+65000)
		tb.Feed(a)
		s.Seq, s.Ack, s.Payload = Seq(sc.isnC+rel), Seq(sc.isnS+1), payload
		tb.Feed(s)
	}
	if got != n*65000 || last <= 1<<32 {
		t.Errorf("delivered %d, last offset %d", got, last)
	}
	if st := tb.Stats(); st.MissedBytes != 0 || st.BufAllocs != 0 {
		t.Errorf("missed %d, buffer allocations %d (want none: zero-copy path)", st.MissedBytes, st.BufAllocs)
	}
}

func TestHostileSequenceNumbersStayBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Config{MaxBuffer: 1 << 20, MaxConnBuffer: 256 << 10, MaxConns: 50, MaxHalfOpen: 20}
	r := newRecorder()
	tb := NewTable(cfg, r)
	payload := make([]byte, 1500)
	for i := 0; i < 200000; i++ {
		sc := defScript()
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), uint16(1024+rng.IntN(200)))
		from := byte('c')
		if rng.IntN(2) == 0 {
			from = 's'
		}
		flags := []string{".", "P.", "S", "S.", "F.", "R", "R."}[rng.IntN(7)]
		p := pkt{from: from, flags: flags, seq: rng.Uint32(), ack: rng.Uint32(), ts: time.Duration(i) * time.Microsecond}
		s := sc.seg(p)
		s.Payload = payload[:rng.IntN(len(payload))]
		tb.Feed(s)
		st := tb.Stats()
		if st.Buffered > uint64(cfg.MaxBuffer)+2048 || st.Active-st.HalfOpen > uint64(cfg.MaxConns) || st.HalfOpen > uint64(cfg.MaxHalfOpen) {
			t.Fatalf("packet %d: buffered %d active %d half-open %d", i, st.Buffered, st.Active, st.HalfOpen)
		}
	}
	tb.Flush(ReasonFlush)
	for _, c := range r.conns {
		if c.closed != 1 {
			t.Fatalf("connection closed %d times", c.closed)
		}
	}
	st := tb.Stats()
	var closed uint64
	for _, n := range st.Closed {
		closed += n
	}
	if closed != st.Opened || st.Active != 0 || st.Buffered != 0 {
		t.Errorf("opened %d closed %d active %d buffered %d", st.Opened, closed, st.Active, st.Buffered)
	}
	t.Logf("%+v", st)
}

// A stable payload (Segment.Stable: a memory-mapped file) waiting for its
// ACK is kept by reference, not copied, and never written to, even when
// OverlapLast lets a later copy win.
func TestStablePayloadsAreNotCopied(t *testing.T) {
	for _, policy := range []OverlapPolicy{OverlapFirst, OverlapLast} {
		sc := defScript()
		r := newRecorder()
		tb := NewTable(Config{Overlap: policy}, r)
		for _, p := range handshake() {
			tb.Feed(sc.seg(p))
		}
		first := []byte("GOOD-DATA")
		s := sc.seg(pkt{from: 'c', flags: "P.", seq: 1, ack: 1})
		s.Payload, s.Stable = first, true
		tb.Feed(s)
		// counted as its pooled copy would be (64 bytes), not copied
		if st := tb.Stats(); st.BufAllocs != 0 || st.Buffered != 64 {
			t.Fatalf("stable payload: %d buffer allocations, %d bytes buffered", st.BufAllocs, st.Buffered)
		}
		evil := sc.seg(pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "EVIL"})
		tb.Feed(evil)
		tb.Feed(sc.seg(pkt{from: 's', flags: ".", seq: 1, ack: 10}))
		tb.Flush(ReasonFlush)
		want := "GOOD-DATA"
		if policy == OverlapLast {
			want = "EVIL-DATA"
		}
		if got := string(r.conns[0].streams[0]); got != want {
			t.Errorf("policy %d: delivered %q, want %q", policy, got, want)
		}
		if string(first) != "GOOD-DATA" {
			t.Errorf("policy %d: the stable payload was written to: %q", policy, first)
		}
		if st := tb.Stats(); st.Buffered != 0 {
			t.Errorf("policy %d: %d bytes still buffered", policy, st.Buffered)
		}
	}
}
