package reassembly

import (
	"testing"
)

// ctxHandler keeps a per-connection counter in Conn.Ctx, as a handler
// written to own Ctx does.
type ctxHandler struct {
	name string
	log  *[]string
}

type ctxCount struct{ sent, recv int }

func (h ctxHandler) Opened(c *Conn) {
	c.Ctx = &ctxCount{}
	*h.log = append(*h.log, h.name+" open")
}
func (h ctxHandler) Sent(c *Conn, d Data)     { c.Ctx.(*ctxCount).sent += len(d.Bytes) }
func (h ctxHandler) Received(c *Conn, d Data) { c.Ctx.(*ctxCount).recv += len(d.Bytes) }
func (h ctxHandler) Closed(c *Conn, r Reason) {
	n := c.Ctx.(*ctxCount)
	*h.log = append(*h.log, h.name+" close "+string(rune('0'+n.sent))+string(rune('0'+n.recv)))
}

func TestMultiGivesEachHandlerItsOwnCtx(t *testing.T) {
	var log []string
	m := Multi(ctxHandler{"a", &log}, ctxHandler{"b", &log})
	sc := defScript()
	tb := NewTable(Config{}, m)
	for _, p := range cat(handshake(), []pkt{
		{from: 'c', flags: "P.", seq: 1, ack: 1, data: "abc"},
		{from: 's', flags: "P.", seq: 1, ack: 4, data: "de"},
		{from: 'c', flags: ".", seq: 4, ack: 3},
	}) {
		tb.Feed(sc.seg(p))
	}
	tb.Flush(ReasonFlush)
	want := []string{"a open", "b open", "a close 32", "b close 32"}
	if len(log) != len(want) {
		t.Fatalf("log %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("log %v, want %v", log, want)
		}
	}
	if Multi(ctxHandler{"x", &log}) == nil {
		t.Fatal("Multi of one handler")
	}
}

func TestMultiDataDoesNotAllocate(t *testing.T) {
	var log []string
	m := Multi(ctxHandler{"a", &log}, ctxHandler{"b", &log})
	c := &Conn{}
	m.Opened(c)
	d := Data{Bytes: []byte("x")}
	if n := testing.AllocsPerRun(1000, func() { m.Sent(c, d); m.Received(c, d) }); n != 0 {
		t.Errorf("%v allocations per Data call", n)
	}
}
