package reassembly

import (
	"testing"
	"unsafe"
)

// A Conn is six cache lines: the fields every packet touches are in its
// first two, the Handler's Ctx in the third; slabs of Conns start on a
// page, so every Conn in them starts on a line.
func TestConnLayout(t *testing.T) {
	var c Conn
	if got := unsafe.Sizeof(c); got != 384 {
		t.Fatalf("Conn is %d bytes, want 384 (connPad)", got)
	}
	for _, f := range []struct {
		name   string
		end    uintptr
		within uintptr
	}{
		{"key", unsafe.Offsetof(c.key) + unsafe.Sizeof(c.key), 128},
		{"state", unsafe.Offsetof(c.state) + 1, 128},
		{"histSeen", unsafe.Offsetof(c.histSeen) + 4, 128},
		{"clientIsHi", unsafe.Offsetof(c.clientIsHi) + 1, 128},
		{"rstPending", unsafe.Offsetof(c.rstPending) + 1, 128},
		{"last", unsafe.Offsetof(c.last) + 8, 128},
		{"tick", unsafe.Offsetof(c.tick) + 8, 128},
		{"buffered", unsafe.Offsetof(c.buffered) + 8, 128},
		{"half", unsafe.Offsetof(c.half) + 8, 128},
		{"links[lkMain]", unsafe.Offsetof(c.links) + unsafe.Sizeof(link{}), 128},
		{"aliased", unsafe.Offsetof(c.aliased) + 1, 128},
		{"Ctx", unsafe.Offsetof(c.Ctx) + unsafe.Sizeof(c.Ctx), 192},
	} {
		if f.end > f.within {
			t.Errorf("%s ends at byte %d, past %d", f.name, f.end, f.within)
		}
	}
	tb := NewTable(Config{}, Funcs{})
	for i := 0; i < 3*connSlab; i++ {
		if p := uintptr(unsafe.Pointer(tb.newConn())); p%64 != 0 {
			t.Fatalf("Conn %d at %#x: not on a cache line", i, p)
		}
	}
}

// A direction is three cache lines, and the pairs are in page-aligned
// slabs, so that each starts on a line of its own.
func TestHalfLayout(t *testing.T) {
	if got := unsafe.Sizeof(half{}); got != 192 {
		t.Fatalf("half is %d bytes, want 192 (halfPad)", got)
	}
	tb := NewTable(Config{}, Funcs{})
	for i := 0; i < 3*connSlab; i++ {
		if p := uintptr(unsafe.Pointer(tb.newHalves())); p%64 != 0 {
			t.Fatalf("directions %d at %#x: not on a cache line", i, p)
		}
	}
}
