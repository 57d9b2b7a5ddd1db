package reassembly

import (
	"testing"
	"unsafe"
)

// A Conn is six cache lines and the fields every packet touches are in
// its first three; slabs of Conns start on a page, so every Conn in them
// starts on a line.
func TestConnLayout(t *testing.T) {
	var c Conn
	if got := unsafe.Sizeof(c); got != 384 {
		t.Fatalf("Conn is %d bytes, want 384 (connPad)", got)
	}
	hot := map[string]uintptr{
		"key": unsafe.Offsetof(c.key) + unsafe.Sizeof(c.key), "state": unsafe.Offsetof(c.state) + 1,
		"hash": unsafe.Offsetof(c.hash) + 8, "last": unsafe.Offsetof(c.last) + 8, "tick": unsafe.Offsetof(c.tick) + 8,
		"half": unsafe.Offsetof(c.half) + 8, "links[lkMain]": unsafe.Offsetof(c.links) + unsafe.Sizeof(link{}),
		"histSeen": unsafe.Offsetof(c.histSeen) + 4, "clientIsHi": unsafe.Offsetof(c.clientIsHi) + 1,
		"rstPending": unsafe.Offsetof(c.rstPending) + 1, "Ctx": unsafe.Offsetof(c.Ctx) + unsafe.Sizeof(c.Ctx),
	}
	for name, end := range hot {
		if end > 192 {
			t.Errorf("%s ends at byte %d, past the first three cache lines", name, end)
		}
	}
	tb := NewTable(Config{}, Funcs{})
	for i := 0; i < 3*connSlab; i++ {
		if p := uintptr(unsafe.Pointer(tb.newConn())); p%64 != 0 {
			t.Fatalf("Conn %d at %#x: not on a cache line", i, p)
		}
	}
}
