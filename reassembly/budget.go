package reassembly

import "unsafe"

// What a connection costs, for Config.MaxMemory: the Conn, its two
// directions, the index slot at the index's lowest load (5/16 just after
// it doubled) and the segment lists a recycled pair of directions keeps
// (keptSegs each).
const (
	keptSegs  = 8
	connBytes = int(unsafe.Sizeof(Conn{})) + int(unsafe.Sizeof([2]half{})) +
		int(unsafe.Sizeof(islot{}))*16/5 + 2*keptSegs*int(unsafe.Sizeof(seg{}))
)

// Shares of Config.MaxMemory: half-open connections get an eighth, open
// ones three eighths, buffered payload a quarter and the buffer pool's
// spare buffers a quarter. Fixed shares, not one pool: each kind's arena
// keeps what it grew to, so shares that could trade places would let the
// arenas together outgrow the budget after a change of traffic mix, and a
// flood of half-open connections can then never take the memory of the
// established ones.
func (c *Config) applyBudget() {
	m := c.MaxMemory
	if m <= 0 {
		return
	}
	setMin := func(v *int, limit int) {
		if limit < 1 {
			limit = 1
		}
		if *v <= 0 || *v > limit {
			*v = limit
		}
	}
	setMin(&c.MaxHalfOpen, m/8/embryoBytes)
	setMin(&c.MaxConns, m*3/8/connBytes)
	setMin(&c.MaxBuffer, m/4)
}

// admit makes room for one more open connection under MaxConns. What goes,
// in order: a closed connection still lingering; the least recently
// active connection holding no buffered bytes (looked for among the
// evictScan least recently active); the least recently active one, its
// bytes delivered flagged Unacked before it goes.
func (t *Table) admit() {
	for t.lru.n+t.linger.n >= t.cfg.MaxConns {
		if old := t.linger.head; old != nil {
			t.linger.remove(old)
			t.drop(old)
			continue
		}
		victim := t.lru.tail
		if victim == nil {
			return
		}
		for c, i := victim, 0; c != nil && i < evictScan; c, i = c.links[lkMain].prev, i+1 {
			if c.buffered == 0 {
				victim = c
				break
			}
		}
		buffered := victim.buffered > 0
		if buffered {
			t.stats.EvictedBuffered++
		}
		t.close(victim, ReasonEvicted)
		if t.cfg.Evicted != nil {
			t.cfg.Evicted(false, buffered)
		}
	}
}

// evictScan bounds the search for an idle victim, so that eviction stays
// O(1) when every old connection holds bytes.
const evictScan = 16
