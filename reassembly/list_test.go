package reassembly

import (
	"math/rand/v2"
	"testing"
)

// touch keeps the list what remove + pushFront make of it: random touches,
// pushes and removals against a slice model, walking the list both ways.
func TestListTouch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	conns := make([]*Conn, 12)
	for i := range conns {
		conns[i] = &Conn{}
	}
	l := list{idx: lkMain}
	var model []*Conn // front first
	index := func(c *Conn) int {
		for i, x := range model {
			if x == c {
				return i
			}
		}
		return -1
	}
	for step := range 20_000 {
		c := conns[rng.IntN(len(conns))]
		switch rng.IntN(3) {
		case 0, 1:
			l.touch(c)
			if i := index(c); i >= 0 {
				model = append(model[:i], model[i+1:]...)
			}
			model = append([]*Conn{c}, model...)
		case 2:
			l.remove(c)
			if i := index(c); i >= 0 {
				model = append(model[:i], model[i+1:]...)
			}
		}
		var fwd, back []*Conn
		for x := l.head; x != nil; x = x.links[lkMain].next {
			fwd = append(fwd, x)
		}
		for x := l.tail; x != nil; x = x.links[lkMain].prev {
			back = append([]*Conn{x}, back...)
		}
		if l.n != len(model) || len(fwd) != len(model) || len(back) != len(model) {
			t.Fatalf("step %d: n %d, forward %d, backward %d, want %d", step, l.n, len(fwd), len(back), len(model))
		}
		for i := range model {
			if fwd[i] != model[i] || back[i] != model[i] {
				t.Fatalf("step %d: order differs at %d", step, i)
			}
		}
	}
}
