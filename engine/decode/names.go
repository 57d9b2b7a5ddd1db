package decode

import (
	"strconv"
	"sync"
)

// TunnelNames maps Segment.Tunnel values back to their chains' text, for
// outputs that name a connection's tunnel (the conn log's tunnel field).
// Decoders with Config.TunnelKey and Config.Names fill it the first time
// they see a chain; any goroutine may read it. It holds at most
// MaxTunnelNames chains: past that, new ones go unnamed (AppendName writes
// their hash).
type TunnelNames struct {
	mu sync.RWMutex
	m  map[uint32]string
}

// MaxTunnelNames bounds a TunnelNames (and each Decoder's cache of what it
// has registered): a capture with more distinct tunnel chains than this,
// such as a mobile core with a TEID per bearer, names only the first ones.
const MaxTunnelNames = 1 << 16

// NewTunnelNames returns an empty TunnelNames.
func NewTunnelNames() *TunnelNames { return &TunnelNames{m: map[uint32]string{}} }

func (n *TunnelNames) add(h uint32, c *Chain) {
	n.mu.Lock()
	if _, ok := n.m[h]; !ok && len(n.m) < MaxTunnelNames {
		n.m[h] = string(c.AppendText(nil))
	}
	n.mu.Unlock()
}

// Name returns the chain's text for a Segment.Tunnel value, and whether it
// is known.
func (n *TunnelNames) Name(h uint32) (string, bool) {
	if n == nil {
		return "", false
	}
	n.mu.RLock()
	s, ok := n.m[h]
	n.mu.RUnlock()
	return s, ok
}

// AppendName appends the chain's text, or "0x" and the hash in hex when
// the chain is not known (n nil, or full).
func (n *TunnelNames) AppendName(b []byte, h uint32) []byte {
	if s, ok := n.Name(h); ok {
		return append(b, s...)
	}
	b = append(b, "0x"...)
	return strconv.AppendUint(b, uint64(h), 16)
}

// noteName registers the current chain under h, once per Decoder.
func (d *Decoder) noteName(h uint32) {
	if _, ok := d.named[h]; ok || len(d.named) >= MaxTunnelNames {
		return
	}
	if d.named == nil {
		d.named = map[uint32]struct{}{}
	}
	d.named[h] = struct{}{}
	d.cfg.Names.add(h, &d.chain)
}
