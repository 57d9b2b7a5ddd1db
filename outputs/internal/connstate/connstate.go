// Package connstate keeps an output Handler's per-connection states: in
// Conn.Ctx while the connection lives, on the Handler's free list once it
// closed, so that in the steady state no state is allocated.
package connstate

import "github.com/fastsniff/fastsniff/reassembly"

// Free is a free list of states. The zero value is empty. It belongs to
// one Handler (one worker goroutine).
type Free[T any] struct{ list []*T }

// Get returns the most recently released state, as Release left it, or
// newT() when there is none.
func (f *Free[T]) Get(newT func() *T) *T {
	n := len(f.list)
	if n == 0 {
		return newT()
	}
	t := f.list[n-1]
	f.list[n-1] = nil
	f.list = f.list[:n-1]
	return t
}

// Release puts t, the state of c, on the free list and clears c.Ctx.
func (f *Free[T]) Release(c *reassembly.Conn, t *T) {
	f.list = append(f.list, t)
	c.Ctx = nil
}

// Len is the number of states on the free list.
func (f *Free[T]) Len() int { return len(f.list) }

// Of returns the state in c.Ctx; when c.Ctx holds none (Opened was not
// seen by this handler) it stores get() there first.
func Of[T any](c *reassembly.Conn, get func() *T) *T {
	t, _ := c.Ctx.(*T)
	if t == nil {
		t = get()
		c.Ctx = t
	}
	return t
}

// New returns a new zero T: the newT of Get for a state that needs no
// set-up.
func New[T any]() *T { return new(T) }
