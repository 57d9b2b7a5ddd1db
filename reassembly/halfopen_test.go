package reassembly

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// synFrom returns a SYN from client number i to the test server.
func synFrom(i int, ts int64) *Segment {
	var s Segment
	fillSYN(&s, i, ts)
	return &s
}

func fillSYN(s *Segment, i int, ts int64) {
	*s = Segment{TS: ts, Seq: Seq(1000 + i), Flags: SYN, Window: 64240, WScale: 7}
	s.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).As16()
	s.Dst = netip.AddrFrom4([4]byte{192, 0, 2, 1}).As16()
	s.SrcPort, s.DstPort = uint16(1024+i%50000), 80
}

func TestHalfOpenHeldCompactly(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{}, r)
	for i := range 1000 {
		tb.Feed(synFrom(i, epoch0+int64(i)))
	}
	st := tb.Stats()
	if st.HalfOpen != 1000 || st.Active != 1000 || st.Opened != 1000 || tb.Len() != 1000 || tb.lru.n != 0 {
		t.Fatalf("half-open %d active %d opened %d len %d full conns %d", st.HalfOpen, st.Active, st.Opened, tb.Len(), tb.lru.n)
	}
	if len(r.conns) != 0 || len(tb.slab) != 0 {
		t.Fatalf("a half-open connection got a Conn: %d opened, slab %d", len(r.conns), len(tb.slab))
	}
	tb.Flush(ReasonFlush)
	if len(r.conns) != 1000 {
		t.Fatalf("flush: %d connections reached the handler", len(r.conns))
	}
	for i, c := range r.conns {
		// oldest first, each exactly as a Conn from the start would be
		want := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1024+i))
		if c.client != want || c.reason != ReasonFlush || c.hist != "S" || c.stats[0].Packets != 1 || !c.stats[0].SYN || c.start != epoch0+int64(i) || c.midstream {
			t.Fatalf("connection %d: %+v", i, c)
		}
	}
	if st := tb.Stats(); st.HalfOpen != 0 || st.Active != 0 || st.ClosedBy(ReasonFlush) != 1000 {
		t.Fatalf("after flush: %+v", st)
	}
}

// A SYN retransmitted twice, then answered: the promoted Conn has what it
// would have had from the first packet.
func TestHalfOpenPromotionReplays(t *testing.T) {
	sc := defScript()
	pkts := []pkt{
		{from: 'c', flags: "S"},
		{from: 'c', flags: "S", ts: time.Second},
		{from: 'c', flags: "S", ts: 3 * time.Second},
		{from: 's', flags: "S.", ack: 1, ts: 3*time.Second + time.Millisecond},
		{from: 'c', flags: ".", seq: 1, ack: 1, ts: 3*time.Second + 2*time.Millisecond},
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "hello", ts: 4 * time.Second},
		{from: 's', flags: ".", seq: 1, ack: 6, ts: 5 * time.Second},
	}
	compact, tb := sc.run(t, Config{}, pkts)
	full, _ := sc.run(t, Config{noHalfOpen: true}, pkts)
	a, b := recordStrings(compact), recordStrings(full)
	if len(a) != 1 || a[0] != b[0] {
		t.Fatalf("compact:\n%v\nfull:\n%v", a, b)
	}
	c := compact.conns[0]
	if c.hist != "SThADa" || c.stats[0].Packets != 5 || string(c.streams[0]) != "hello" || c.start != sc.epoch {
		t.Fatalf("promoted: %+v", c)
	}
	if st := tb.Stats(); st.Opened != 1 || st.HalfOpen != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Half-open connections expire on the capture clock in order of last
// activity, interleaved with full ones, and reach the Handler.
func TestHalfOpenExpires(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{IdleTimeout: time.Minute}, r)
	tb.Feed(synFrom(1, epoch0))
	sc := defScript()
	tb.Feed(sc.seg(pkt{from: 'c', flags: "S", ts: time.Second}))
	tb.Feed(sc.seg(pkt{from: 's', flags: "S.", ack: 1, ts: time.Second}))
	tb.Feed(synFrom(2, epoch0+int64(2*time.Second)))
	tb.Feed(synFrom(1, epoch0+int64(3*time.Second))) // a retransmission: activity
	tb.Advance(epoch0 + int64(62*time.Second))
	// the full connection (quiet since 1 s) then the SYN of 2 s; 1 is
	// active until 3 s
	if len(r.conns) != 2 || r.conns[0].client != sc.cli || r.conns[0].reason != ReasonTimeout ||
		r.conns[1].client.Port() != 1026 || r.conns[1].reason != ReasonTimeout {
		t.Fatalf("at 62 s: %d connections reached the handler: %+v", len(r.conns), r.conns)
	}
	tb.Advance(epoch0 + int64(63*time.Second))
	c := r.conns[2]
	if c.client.Port() != 1025 || c.reason != ReasonTimeout || c.stats[0].Packets != 2 || c.hist != "ST" || c.last != epoch0+int64(3*time.Second) {
		t.Fatalf("expired SYN: %+v", c)
	}
}

// Past MaxHalfOpen the oldest half-open connection goes first, and the
// established ones are not touched.
func TestHalfOpenEvictsOldestFirst(t *testing.T) {
	r := newRecorder()
	var called int
	tb := NewTable(Config{MaxHalfOpen: 100, MaxConns: 10, Evicted: func(halfOpen, buffered bool) {
		if !halfOpen || buffered {
			t.Errorf("Evicted(%v, %v)", halfOpen, buffered)
		}
		called++
	}}, r)
	sc := defScript()
	for _, p := range cat(handshake(), []pkt{{from: 'c', flags: "P.", seq: 1, ack: 1, data: "GET /"}}) {
		tb.Feed(sc.seg(p))
	}
	for i := range 250 {
		tb.Feed(synFrom(i, epoch0+int64(time.Second)+int64(i)))
	}
	st := tb.Stats()
	if st.HalfOpen != 100 || st.EvictedHalfOpen != 150 || st.ClosedBy(ReasonEvicted) != 150 || called != 150 {
		t.Fatalf("half-open %d evicted %d/%d", st.HalfOpen, st.EvictedHalfOpen, st.ClosedBy(ReasonEvicted))
	}
	for i, c := range r.conns[1:] {
		if c.client.Port() != uint16(1024+i) || c.reason != ReasonEvicted {
			t.Fatalf("eviction %d: %+v", i, c)
		}
	}
	if r.conns[0].closed != 0 {
		t.Fatal("the established connection was evicted")
	}
	tb.Feed(sc.seg(pkt{from: 's', flags: ".", seq: 1, ack: 6}))
	if got := string(r.conns[0].streams[0]); got != "GET /" {
		t.Fatalf("established connection delivered %q", got)
	}
}

// MaxConns evicts an idle connection before one with buffered bytes, and
// delivers the buffered bytes (flagged) of one that must go.
func TestEvictionPrefersIdle(t *testing.T) {
	r := newRecorder()
	tb := NewTable(Config{MaxConns: 2}, r)
	scs := make([]script, 3)
	for i := range scs {
		scs[i] = defScript()
		scs[i].cli = netip.AddrPortFrom(scs[i].cli.Addr(), uint16(41000+i))
	}
	for _, p := range handshake() {
		tb.Feed(scs[0].seg(p))
	}
	// connection 0 holds unACKed bytes; connection 1, newer, is idle
	tb.Feed(scs[0].seg(pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "pending"}))
	for _, p := range handshake() {
		p.ts = time.Second
		tb.Feed(scs[1].seg(p))
	}
	for _, p := range handshake() {
		p.ts = 2 * time.Second
		tb.Feed(scs[2].seg(p))
	}
	if r.conns[1].closed != 1 || r.conns[1].reason != ReasonEvicted || r.conns[0].closed != 0 {
		t.Fatalf("evicted %+v, kept %+v", r.conns[1], r.conns[0])
	}
	// now both left hold bytes: the least recently active goes
	tb.Feed(scs[2].seg(pkt{from: 'c', flags: "P.", seq: 1, ack: 1, data: "later", ts: 3 * time.Second}))
	for _, p := range handshake() {
		p.ts = 4 * time.Second
		sc := defScript()
		sc.cli = netip.AddrPortFrom(sc.cli.Addr(), 41009)
		tb.Feed(sc.seg(p))
	}
	st := tb.Stats()
	c := r.conns[0]
	if c.closed != 1 || c.reason != ReasonEvicted || string(c.streams[0]) != "pending" || c.unacked[0] != 7 || st.EvictedBuffered != 1 {
		t.Fatalf("buffered connection: %+v evicted-buffered %d", c, st.EvictedBuffered)
	}
	if r.conns[2].closed != 0 {
		t.Fatalf("the newer buffered connection went too")
	}
}

func TestMaxMemoryShares(t *testing.T) {
	c := Config{MaxMemory: 64 << 20}.withDefaults()
	if c.MaxHalfOpen != (64<<20)/8/embryoBytes || c.MaxConns != (64<<20)*3/8/connBytes || c.MaxBuffer != 16<<20 {
		t.Fatalf("shares: %d half-open, %d conns, %d buffer", c.MaxHalfOpen, c.MaxConns, c.MaxBuffer)
	}
	// an explicit smaller limit stays
	if c := (Config{MaxMemory: 64 << 20, MaxConns: 10}).withDefaults(); c.MaxConns != 10 {
		t.Fatalf("MaxConns %d", c.MaxConns)
	}
	if connBytes > 2048 {
		t.Errorf("a connection costs %d bytes", connBytes)
	}
}

// What a half-open connection costs, all in: at most 128 bytes, measured
// on the heap; and a second flood after the first expired reuses the
// memory (no new pages in the steady state).
func TestHalfOpenMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 200k connections")
	}
	if sz := unsafe.Sizeof(embryo{}); sz != 56 {
		t.Errorf("an embryo is %d bytes, want 56", sz)
	}
	const n = 200_000
	tb := NewTable(Config{IdleTimeout: time.Second}, Funcs{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var s Segment
	for i := range n {
		fillSYN(&s, i, epoch0+int64(i))
		tb.Feed(&s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes per half-open connection", per)
	if per > 128 {
		t.Errorf("%.1f bytes per half-open connection, want at most 128", per)
	}
	// the next flood, after the first expired: nothing new allocated
	tb.Advance(epoch0 + int64(time.Minute))
	if tb.Stats().HalfOpen != 0 {
		t.Fatal("not expired")
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		fillSYN(&s, i+n, epoch0+int64(time.Minute)+int64(i))
		tb.Feed(&s)
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Errorf("second flood allocated %d bytes", grown)
	}
	runtime.KeepAlive(tb)
}

// IPv6 half-open connections keep their addresses in a side arena, and
// many VLAN stacks and tunnels are named through a map: they reach the
// Handler exactly as full Conns would.
func TestHalfOpenIPv6AndManyVLANStacks(t *testing.T) {
	run := func(cfg Config) []string {
		r := newRecorder()
		tb := NewTable(cfg, r)
		for i := range 600 {
			s := synFrom(i, epoch0+int64(i))
			if i%2 == 0 {
				s.SetAddrs(netip.MustParseAddr("2001:db8::1"), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
			}
			s.VLANs.Push(uint16(i % 300))
			s.Tunnel = uint32(i % 7)
			tb.Feed(s)
			if i%3 == 0 { // answered: promoted
				a := *s
				a.Src, a.Dst, a.SrcPort, a.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
				a.Flags, a.Seq, a.Ack = SYN|ACK, 5000, s.Seq+1
				tb.Feed(&a)
			}
		}
		if cfg.noHalfOpen {
			if n := tb.emb.n; n != 0 {
				t.Fatalf("%d embryos", n)
			}
		} else if n := len(tb.emb.stacks); n != 600 || len(tb.emb.addr6) == 0 {
			t.Fatalf("%d VLAN stacks named, %d IPv6 pairs", n, len(tb.emb.addr6))
		}
		tb.Flush(ReasonFlush)
		if len(r.conns) != 600 {
			t.Fatalf("%d connections", len(r.conns))
		}
		return recordStrings(r)
	}
	a, b := run(Config{}), run(Config{noHalfOpen: true})
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("compact:\n%s\nfull:\n%s", a[i], b[i])
		}
	}
}

// A Handler that ignores half-open connections (Funcs without OnOpen and
// OnClose) gets none, and the Table's counters are exactly those of a
// Table whose Handler sees every one: through eviction, expiry and flush,
// for SYNs, SYN+ACKs, ACKs and FINs, answered or not; and the Table
// takes as many again after a flush (which drops the ignored ones at once).
func TestHalfOpenIgnored(t *testing.T) {
	run := func(h Handler) Stats {
		tb := NewTable(Config{MaxHalfOpen: 300, IdleTimeout: time.Minute}, h)
		flags := []Flags{SYN, SYN | ACK, ACK, FIN | ACK, ACK}
		for i := range 4000 {
			if i == 2000 {
				tb.Flush(ReasonFlush)
				if st := tb.Stats(); st.Active != 0 || st.HalfOpen != 0 || tb.Len() != 0 {
					t.Fatalf("after a flush: %d active, %d half-open, Len %d", st.Active, st.HalfOpen, tb.Len())
				}
			}
			// the same 4-tuples again after the flush, the last first:
			// none may be found among what it dropped
			k := i
			if i >= 2000 {
				k = 3999 - i
			}
			s := synFrom(k, epoch0+int64(i)*int64(50*time.Millisecond))
			s.Flags = flags[i%len(flags)]
			s.Ack = Seq(i * 3)
			tb.Feed(s)
			if i%7 == 0 { // answered: a full connection
				a := *s
				a.Src, a.Dst, a.SrcPort, a.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
				a.Flags, a.Seq, a.Ack = ACK, s.Ack, s.Seq+1
				a.Payload = []byte("data")
				tb.Feed(&a)
			}
		}
		tb.Flush(ReasonFlush)
		return tb.Stats()
	}
	var opened, closed int
	seen := run(Funcs{OnOpen: func(*Conn) { opened++ }, OnClose: func(*Conn, Reason) { closed++ }})
	var quietData int
	quiet := run(Multi(Funcs{}, Funcs{OnSent: func(*Conn, Data) { quietData++ }}, Funcs{OnReceived: func(*Conn, Data) { quietData++ }}))
	if seen != quiet {
		t.Fatalf("counters differ:\nseen  %+v\nquiet %+v", seen, quiet)
	}
	if opened != 4000 || closed != 4000 || seen.ClosedBy(ReasonEvicted) == 0 || seen.ClosedBy(ReasonTimeout) == 0 || seen.ClosedBy(ReasonFlush) == 0 {
		t.Fatalf("opened %d closed %d, stats %+v", opened, closed, seen)
	}
	if quietData == 0 {
		t.Fatal("the answered connections' data did not reach the quiet handler")
	}
	if x, ok := Multi(Funcs{}, Funcs{OnClose: func(*Conn, Reason) {}}).(HalfOpenIgnorer); !ok || x.IgnoresHalfOpen() {
		t.Error("Multi with a handler that wants closes ignores half-open connections")
	}
}

// A flush with a Handler that ignores half-open connections drops them
// all at once (embryos.reset): afterwards the arena, its free chain, the
// age list and the index hold none, and the same 4-tuples come back as
// new half-open connections, each found under its own key.
func TestFlushDropsIgnoredHalfOpen(t *testing.T) {
	tb := NewTable(Config{}, Funcs{})
	seg := func(i int) *Segment {
		s := synFrom(i, epoch0+int64(i))
		if i%2 == 0 {
			s.SetAddrs(netip.MustParseAddr("2001:db8::1"), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		}
		return s
	}
	const n = 3000
	feed := func() (answered int) {
		for i := range n {
			tb.Feed(seg(i))
		}
		for i := 0; i < n; i += 5 { // answered: promoted, slots on the free chain
			s := seg(i)
			a := *s
			a.Src, a.Dst, a.SrcPort, a.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
			a.Flags, a.Seq, a.Ack = SYN|ACK, 5000, s.Seq+1
			tb.Feed(&a)
			answered++
		}
		return answered
	}
	check := func(round int) {
		e := &tb.emb
		if e.free < 0 && round == 0 {
			t.Fatal("no free slot before the flush: the test does not reach the free chain")
		}
		before := tb.Stats()
		tb.Flush(ReasonFlush)
		st := tb.Stats()
		if e.n != 0 || e.free != -1 || e.head != -1 || e.tail != -1 || e.used != 0 || len(e.addr6) != 0 || len(e.free6) != 0 {
			t.Fatalf("round %d, after the flush: n %d free %d head %d tail %d used %d addr6 %d free6 %d",
				round, e.n, e.free, e.head, e.tail, e.used, len(e.addr6), len(e.free6))
		}
		for i, sl := range e.slots {
			if sl != (embryoSlot{}) {
				t.Fatalf("round %d: index slot %d still %+v", round, i, sl)
			}
		}
		if st.Active != 0 || st.HalfOpen != 0 || st.ClosedBy(ReasonFlush)-before.ClosedBy(ReasonFlush) != before.Active {
			t.Fatalf("round %d: active %d half-open %d, flush closed %d of %d",
				round, st.Active, st.HalfOpen, st.ClosedBy(ReasonFlush)-before.ClosedBy(ReasonFlush), before.Active)
		}
	}
	for round := range 2 {
		answered := feed()
		if got := tb.emb.n; got != n-answered {
			t.Fatalf("round %d: %d half-open, want %d", round, got, n-answered)
		}
		for i := range n {
			if i%5 == 0 {
				continue
			}
			k, _ := KeyOf(seg(i), false)
			j, _ := tb.emb.lookup(&k, k.Hash())
			if j < 0 || tb.emb.key(tb.emb.at(j)) != k {
				t.Fatalf("round %d: flow %d not found under its key (index %d)", round, i, j)
			}
		}
		// one more of each: an exact repeat is absorbed, not a second one
		for i := 1; i < n; i += 5 {
			tb.Feed(seg(i))
		}
		if got := tb.emb.n; got != n-answered {
			t.Fatalf("round %d: %d half-open after repeats, want %d", round, got, n-answered)
		}
		check(round)
	}
}
