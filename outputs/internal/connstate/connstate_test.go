package connstate

import (
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

type state struct{ n int }

type handler struct {
	free  Free[state]
	made  int
	calls int
}

func (h *handler) get() *state {
	h.calls++
	return h.free.Get(func() *state { h.made++; return new(state) })
}

func TestFree(t *testing.T) {
	tests := []struct {
		name     string
		opened   bool // Opened stored a state before Of
		released int  // states on the free list before
		wantMade int
	}{
		{"opened, empty free list", true, 0, 1},
		{"opened, recycled", true, 2, 0},
		{"Opened not seen", false, 0, 1},
		{"Opened not seen, recycled", false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &handler{}
			var spare []*state
			for i := range tt.released {
				c := new(reassembly.Conn)
				s := &state{n: 100 + i}
				spare = append(spare, s)
				c.Ctx = s
				h.free.Release(c, s)
				if c.Ctx != nil {
					t.Fatal("Release left Ctx set")
				}
			}
			c := new(reassembly.Conn)
			if tt.opened {
				c.Ctx = h.get()
			}
			s := Of(c, h.get)
			if s2 := Of(c, h.get); s2 != s || c.Ctx != s {
				t.Errorf("Of not stable: %p %p %v", s, s2, c.Ctx)
			}
			if h.calls != 1 || h.made != tt.wantMade {
				t.Errorf("get called %d times, made %d, want 1 and %d", h.calls, h.made, tt.wantMade)
			}
			if tt.released > 0 && s != spare[len(spare)-1] {
				t.Errorf("got %v, want the last released state (as left: %d)", s, spare[len(spare)-1].n)
			}
			if h.free.Len() != max(tt.released-1, 0) {
				t.Errorf("Len = %d", h.free.Len())
			}
			h.free.Release(c, s)
			if c.Ctx != nil || h.free.Len() != max(tt.released, 1) {
				t.Errorf("after Release: Ctx %v, Len %d", c.Ctx, h.free.Len())
			}
		})
	}
}

func TestOfOtherType(t *testing.T) {
	c := new(reassembly.Conn)
	c.Ctx = "someone else's"
	s := Of(c, New[state])
	if s == nil || c.Ctx != s {
		t.Errorf("Of did not replace a foreign Ctx: %v", c.Ctx)
	}
}

func TestSteadyStateNoAlloc(t *testing.T) {
	h := &handler{}
	c := new(reassembly.Conn)
	h.free.Release(c, new(state))
	allocs := testing.AllocsPerRun(100, func() {
		s := Of(c, h.get)
		s.n++
		h.free.Release(c, s)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per connection", allocs)
	}
}
