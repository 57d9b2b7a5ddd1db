package reassembly_test

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// segmentOf fills s from a flowgen packet (s.Payload borrows p.Payload).
func segmentOf(s *reassembly.Segment, p *flowgen.Packet) {
	*s = reassembly.Segment{
		TS:      p.TS,
		SrcPort: p.Src.Port(),
		DstPort: p.Dst.Port(),
		Seq:     reassembly.Seq(p.Seq),
		Ack:     reassembly.Seq(p.Ack),
		Flags:   reassembly.Flags(p.Flags),
		Window:  p.Window,
		WScale:  -1,
		Payload: p.Payload,
	}
	s.SetAddrs(p.Src.Addr(), p.Dst.Addr())
	if p.VLAN != 0 {
		s.VLANs.Push(p.VLAN)
	}
}

// gotConn is what a Table delivered for one connection.
type gotConn struct {
	client, server netip.AddrPort
	vlans          reassembly.VLANs
	data           [2][]byte
	gaps           [2][]flowgen.Gap
	next           [2]uint64 // offset after the last delivery
	closed         int
	reason         reassembly.Reason
	errs           []string // handler-level inconsistencies
}

// collector records every connection of a Table in the order it opened.
type collector struct{ conns []*gotConn }

func (col *collector) handler() reassembly.Handler {
	data := func(c *reassembly.Conn, d reassembly.Dir, x reassembly.Data) {
		g := c.Ctx.(*gotConn)
		if g.closed > 0 {
			g.errs = append(g.errs, "data after Closed")
		}
		if x.Offset-x.Gap != g.next[d] || x.Offset < x.Gap {
			g.errs = append(g.errs, fmt.Sprintf("dir %d: data at offset %d with gap %d, previous delivery ended at %d", d, x.Offset, x.Gap, g.next[d]))
		}
		if x.Gap > 0 {
			gs := g.gaps[d]
			if n := len(gs); n > 0 && gs[n-1].Offset+gs[n-1].Len == x.Offset-x.Gap {
				gs[n-1].Len += x.Gap
			} else {
				g.gaps[d] = append(gs, flowgen.Gap{Offset: x.Offset - x.Gap, Len: x.Gap})
			}
		}
		g.data[d] = append(g.data[d], x.Bytes...)
		g.next[d] = x.Offset + uint64(len(x.Bytes))
	}
	return reassembly.Funcs{
		OnOpen: func(c *reassembly.Conn) {
			g := &gotConn{client: c.Client(), server: c.Server(), vlans: c.VLANs()}
			c.Ctx = g
			col.conns = append(col.conns, g)
		},
		OnSent:     func(c *reassembly.Conn, x reassembly.Data) { data(c, reassembly.FromClient, x) },
		OnReceived: func(c *reassembly.Conn, x reassembly.Data) { data(c, reassembly.FromServer, x) },
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			g := c.Ctx.(*gotConn)
			g.closed++
			g.reason = r
		},
	}
}

// reassemble feeds the whole capture to one Table and flushes it.
func reassemble(c *flowgen.Capture, cfg reassembly.Config) (*collector, reassembly.Stats) {
	col := &collector{}
	tb := reassembly.NewTable(cfg, col.handler())
	var s reassembly.Segment
	for _, p := range c.All() {
		segmentOf(&s, p)
		tb.Feed(&s)
	}
	tb.Flush(reassembly.ReasonFlush)
	return col, tb.Stats()
}

type connKey struct {
	a, b netip.AddrPort
	vlan uint16
}

func keyOf(a, b netip.AddrPort, vlan uint16) connKey {
	if b.Addr().Less(a.Addr()) || (a.Addr() == b.Addr() && b.Port() < a.Port()) {
		a, b = b, a
	}
	return connKey{a, b, vlan}
}

// compare matches the Table's connections with the truth (by endpoints and
// VLAN, in order of start) and returns every difference.
func compare(c *flowgen.Capture, col *collector) []string {
	var diffs []string
	byKey := map[connKey][]*gotConn{}
	for _, g := range col.conns {
		var vlan uint16
		if g.vlans.N > 0 {
			vlan = g.vlans.IDs[0]
		}
		k := keyOf(g.client, g.server, vlan)
		byKey[k] = append(byKey[k], g)
	}
	for i := range c.Conns {
		cn := &c.Conns[i]
		name := fmt.Sprintf("conn %d %v>%v vlan %d (midstream %v, one-sided %v/%d, wrap %v, reused %v, ends %s, %+v)",
			i, cn.Client, cn.Server, cn.VLAN, cn.Midstream, cn.OneSided, cn.OneSidedDir, cn.Wrap, cn.Reused, cn.EndsWith, cn.Impairments)
		k := keyOf(cn.Client, cn.Server, cn.VLAN)
		if len(byKey[k]) == 0 {
			diffs = append(diffs, name+": no such connection in the Table")
			continue
		}
		g := byKey[k][0]
		byKey[k] = byKey[k][1:]
		for _, e := range g.errs {
			diffs = append(diffs, name+": "+e)
		}
		if g.closed != 1 {
			diffs = append(diffs, fmt.Sprintf("%s: Closed called %d times", name, g.closed))
		}
		if g.client != cn.Client || g.server != cn.Server {
			diffs = append(diffs, fmt.Sprintf("%s: Table says client %v server %v", name, g.client, g.server))
			continue
		}
		for d := range 2 {
			want := &cn.Streams[d]
			if want.Unseen {
				if len(g.data[d]) > 0 {
					diffs = append(diffs, fmt.Sprintf("%s dir %d: uncaptured direction, %d bytes delivered", name, d, len(g.data[d])))
				}
				continue
			}
			if !bytes.Equal(g.data[d], want.Data) {
				diffs = append(diffs, fmt.Sprintf("%s dir %d: delivered %d bytes, truth %d; first difference at byte %d",
					name, d, len(g.data[d]), len(want.Data), firstDiff(g.data[d], want.Data)))
			}
			if !gapsEqual(g.gaps[d], want.Gaps) {
				diffs = append(diffs, fmt.Sprintf("%s dir %d: gaps %v, truth %v", name, d, g.gaps[d], want.Gaps))
			}
			if g.next[d] != want.Total {
				diffs = append(diffs, fmt.Sprintf("%s dir %d: stream reached offset %d, truth %d", name, d, g.next[d], want.Total))
			}
		}
	}
	for k, gs := range byKey {
		for _, g := range gs {
			diffs = append(diffs, fmt.Sprintf("extra connection %v>%v vlan %d: %d+%d bytes", g.client, g.server, k.vlan, len(g.data[0]), len(g.data[1])))
		}
	}
	return diffs
}

func gapsEqual(a, b []flowgen.Gap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
