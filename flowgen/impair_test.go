package flowgen_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
)

// byConn returns each connection's captured packets (payloads copied).
func byConn(c *flowgen.Capture) [][]flowgen.Packet {
	out := make([][]flowgen.Packet, len(c.Conns))
	for _, p := range c.All() {
		q := *p
		q.Payload = bytes.Clone(p.Payload)
		out[p.Conn] = append(out[p.Conn], q)
	}
	return out
}

// off is a packet's stream offset in the truth of its direction, for a
// connection whose stream starts at ISN+1.
func off(cn *flowgen.Conn, p *flowgen.Packet) int64 {
	return int64(int32(p.Seq - cn.ISN[p.Dir] - 1))
}

func TestImpairments(t *testing.T) {
	base := flowgen.Config{Seed: 1, Conns: 60, MaxBytes: 30_000, IPv6Share: 0.3, VLANShare: 0.3}
	cases := []struct {
		name  string
		set   func(*flowgen.Config)
		count func(flowgen.Impairments) int // how often it happened (nil: per connection)
		check func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet)
	}{
		{
			name:  "capture-loss",
			set:   func(c *flowgen.Config) { c.CaptureLoss = 0.1 },
			count: func(m flowgen.Impairments) int { return m.CaptureLost },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				gaps := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					for d := range 2 {
						for _, g := range cn.Streams[d].Gaps {
							gaps++
							acked := false
							for _, p := range pk[i] {
								o := off(cn, &p)
								if p.Dir == d && len(p.Payload) > 0 && o < int64(g.Offset+g.Len) && o+int64(len(p.Payload)) > int64(g.Offset) {
									t.Fatalf("conn %d dir %d: gap %+v, yet packet at %d+%d", i, d, g, o, len(p.Payload))
								}
								if p.Dir == 1-d && int64(int32(p.Ack-cn.ISN[d]-1)) >= int64(g.Offset+g.Len) {
									acked = true
								}
							}
							if !acked {
								t.Fatalf("conn %d dir %d: gap %+v never ACKed in the capture", i, d, g)
							}
						}
					}
				}
				if gaps == 0 {
					t.Fatal("no gaps")
				}
			},
		},
		{
			name:  "overlap-diff",
			set:   func(c *flowgen.Config) { c.OverlapDiff = 0.1 },
			count: func(m flowgen.Impairments) int { return m.OverlapDiff },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				// For every byte offset captured twice with different values,
				// the truth holds the first captured one.
				conflicts := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					for d := range 2 {
						first := map[int64]byte{}
						for _, p := range pk[i] {
							if p.Dir != d {
								continue
							}
							for j, b := range p.Payload {
								o := off(cn, &p) + int64(j)
								if f, ok := first[o]; !ok {
									first[o] = b
								} else if f != b {
									conflicts++
									if cn.Streams[d].Data[o] != f {
										t.Fatalf("conn %d dir %d offset %d: truth %#x, first copy %#x", i, d, o, cn.Streams[d].Data[o], f)
									}
								}
							}
						}
					}
				}
				if conflicts == 0 {
					t.Fatal("no conflicting copies in the capture")
				}
			},
		},
		{
			name:  "overlap-same",
			set:   func(c *flowgen.Config) { c.OverlapSame = 0.1 },
			count: func(m flowgen.Impairments) int { return m.OverlapSame },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if n := overlaps(c, pk, false); n == 0 {
					t.Fatal("no partial overlaps")
				}
			},
		},
		{
			name:  "duplicate",
			set:   func(c *flowgen.Config) { c.Duplicate = 0.1 },
			count: func(m flowgen.Impairments) int { return m.Duplicated },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if n := overlaps(c, pk, true); n == 0 {
					t.Fatal("no duplicates")
				}
			},
		},
		{
			name:  "loss",
			set:   func(c *flowgen.Config) { c.Loss = 0.1 },
			count: func(m flowgen.Impairments) int { return m.Lost },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if outOfOrder(c, pk) == 0 {
					t.Fatal("no late retransmission")
				}
			},
		},
		{
			name:  "reorder",
			set:   func(c *flowgen.Config) { c.Reorder = 0.2 },
			count: func(m flowgen.Impairments) int { return m.Reordered },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if outOfOrder(c, pk) == 0 {
					t.Fatal("no segment out of order")
				}
			},
		},
		{
			name: "wrap",
			set:  func(c *flowgen.Config) { c.WrapISN = 0.5 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				wraps := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					if !cn.Wrap {
						continue
					}
					for d := range 2 {
						if cn.Streams[d].Total == 0 {
							continue
						}
						// Some data lies past 2^32: a sequence number below
						// the ISN, or a segment across the wrap.
						crossed := false
						for _, p := range pk[i] {
							if p.Dir == d && len(p.Payload) > 0 && (p.Seq < cn.ISN[d] || uint64(p.Seq)+uint64(len(p.Payload)) > 1<<32) {
								crossed = true
							}
						}
						if !crossed {
							t.Fatalf("conn %d dir %d: ISN %#x, no data past 2^32", i, d, cn.ISN[d])
						}
						wraps++
					}
				}
				if wraps == 0 {
					t.Fatal("no wrapping connection")
				}
			},
		},
		{
			name: "one-sided",
			set:  func(c *flowgen.Config) { c.OneSided = 0.5 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				n := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					if !cn.OneSided {
						continue
					}
					n++
					d := cn.OneSidedDir
					if !cn.Streams[1-d].Unseen || cn.Streams[d].Unseen || cn.Streams[1-d].Total != 0 {
						t.Fatalf("conn %d: one-sided dir %d, streams %+v", i, d, cn.Streams)
					}
					var data []byte
					for _, p := range pk[i] {
						if p.Dir != d {
							t.Fatalf("conn %d: packet of the uncaptured direction", i)
						}
						if len(p.Payload) > 0 {
							data = append(data, p.Payload...)
						}
					}
					if !bytes.Equal(data, cn.Streams[d].Data) {
						t.Fatalf("conn %d: captured bytes differ from the truth", i)
					}
				}
				if n == 0 {
					t.Fatal("no one-sided connection")
				}
			},
		},
		{
			name: "midstream",
			set:  func(c *flowgen.Config) { c.Midstream = 0.5 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				n := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					if !cn.Midstream {
						continue
					}
					n++
					ps := pk[i]
					if f := ps[0].Flags; len(ps[0].Payload) == 0 || f&flowgen.ACK == 0 || f&(flowgen.SYN|flowgen.FIN|flowgen.RST) != 0 {
						t.Fatalf("conn %d: first packet %+v", i, ps[0])
					}
					// Each direction's stream starts with its first captured
					// data segment (the capture is clean otherwise).
					for d := range 2 {
						var data []byte
						for _, p := range ps {
							if p.Flags&flowgen.SYN != 0 {
								t.Fatalf("conn %d: SYN captured", i)
							}
							if p.Dir == d {
								data = append(data, p.Payload...)
							}
						}
						if !bytes.Equal(data, cn.Streams[d].Data) {
							t.Fatalf("conn %d dir %d: captured %d bytes, truth %d", i, d, len(data), len(cn.Streams[d].Data))
						}
					}
				}
				if n == 0 {
					t.Fatal("no midstream connection")
				}
			},
		},
		{
			name: "port-reuse",
			set:  func(c *flowgen.Config) { c.PortReuse = 0.3 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				n := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					if !cn.Reused {
						continue
					}
					n++
					prev := -1
					for j := range i {
						if c.Conns[j].Client == cn.Client && c.Conns[j].Server == cn.Server {
							prev = j
						}
					}
					if prev < 0 {
						t.Fatalf("conn %d: reused, but no earlier connection on %v-%v", i, cn.Client, cn.Server)
					}
					pc := &c.Conns[prev]
					if pc.EndsWith != flowgen.EndFIN || cn.Start < pc.End+2e9 || cn.ISN[0] == pc.ISN[0] || cn.ISN[1] == pc.ISN[1] || pk[i][0].Flags != flowgen.SYN {
						t.Fatalf("conn %d reuses %d: ends %s at %d, start %d, ISNs %v %v", i, prev, pc.EndsWith, pc.End, cn.Start, pc.ISN, cn.ISN)
					}
				}
				if n == 0 {
					t.Fatal("no port reuse")
				}
			},
		},
		{
			name: "rst",
			set:  func(c *flowgen.Config) { c.RST = 0.5 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				n := 0
				for i := range c.Conns {
					cn := &c.Conns[i]
					ps := pk[i]
					last := ps[len(ps)-1]
					if cn.EndsWith != flowgen.EndRST {
						if last.Flags&flowgen.RST != 0 {
							t.Fatalf("conn %d: RST, truth says %s", i, cn.EndsWith)
						}
						continue
					}
					n++
					if last.Flags&flowgen.RST == 0 || last.Dir != cn.RSTBy {
						t.Fatalf("conn %d: last packet %+v", i, last)
					}
					for _, p := range ps {
						if p.Flags&flowgen.FIN != 0 {
							t.Fatalf("conn %d: FIN before the RST", i)
						}
					}
					// Everything was ACKed before the RST.
					for d := range 2 {
						acked := false
						for _, p := range ps[:len(ps)-1] {
							if p.Dir == 1-d && uint64(int32(p.Ack-cn.ISN[d]-1)) == cn.Streams[d].Total {
								acked = true
							}
						}
						if !acked && cn.Streams[d].Total > 0 {
							t.Fatalf("conn %d dir %d: not all ACKed before the RST", i, d)
						}
					}
				}
				if n == 0 {
					t.Fatal("no RST")
				}
			},
		},
		{
			name: "open",
			set:  func(c *flowgen.Config) { c.Open = 0.5 },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				n := 0
				for i := range c.Conns {
					if c.Conns[i].EndsWith != flowgen.EndOpen {
						continue
					}
					n++
					for _, p := range pk[i] {
						if p.Flags&(flowgen.FIN|flowgen.RST) != 0 {
							t.Fatalf("conn %d: open, but %+v", i, p)
						}
					}
				}
				if n == 0 {
					t.Fatal("no open connection")
				}
			},
		},
		{
			name:  "tiny",
			set:   func(c *flowgen.Config) { c.Tiny = 0.2 },
			count: func(m flowgen.Impairments) int { return m.Tiny },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if sizes(pk, 1, 8) == 0 {
					t.Fatal("no tiny segment")
				}
			},
		},
		{
			name:  "oversize",
			set:   func(c *flowgen.Config) { c.Oversize = 0.2; c.MaxBytes = 150_000 },
			count: func(m flowgen.Impairments) int { return m.Oversize },
			check: func(t *testing.T, c *flowgen.Capture, pk [][]flowgen.Packet) {
				if sizes(pk, 1461, 1<<20) == 0 {
					t.Fatal("no oversize segment")
				}
				if sizes(pk, 65535-40+1, 1<<20) != 0 {
					t.Fatal("segment above 65495 bytes")
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.set(&cfg)
			c := generate(t, cfg)
			if tc.count != nil {
				happened := 0
				for i := range c.Conns {
					happened += tc.count(c.Conns[i].Impairments)
				}
				if happened == 0 {
					t.Fatal("impairment never applied")
				}
			}
			tc.check(t, c, byConn(c))
			if err := checkOracle(c); err != nil {
				t.Fatal(err)
			}
			// Impairments other than capture loss, one-sided capture and the
			// cut of midstream leave every byte to be delivered.
			if cfg.CaptureLoss == 0 {
				for i := range c.Conns {
					for d, st := range c.Conns[i].Streams {
						if len(st.Gaps) > 0 {
							t.Fatalf("conn %d dir %d: gaps %v without capture loss", i, d, st.Gaps)
						}
					}
				}
			}
		})
	}
}

// overlaps counts pairs of data packets of one direction that overlap:
// exact duplicates (same range) when exact, partial overlaps otherwise.
// Overlapping bytes must be equal.
func overlaps(c *flowgen.Capture, pk [][]flowgen.Packet, exact bool) int {
	n := 0
	for i := range c.Conns {
		cn := &c.Conns[i]
		for a := range pk[i] {
			p := &pk[i][a]
			if len(p.Payload) == 0 {
				continue
			}
			for b := a + 1; b < len(pk[i]); b++ {
				q := &pk[i][b]
				if q.Dir != p.Dir || len(q.Payload) == 0 {
					continue
				}
				po, qo := off(cn, p), off(cn, q)
				lo, hi := max(po, qo), min(po+int64(len(p.Payload)), qo+int64(len(q.Payload)))
				if lo >= hi {
					continue
				}
				if !bytes.Equal(p.Payload[lo-po:hi-po], q.Payload[lo-qo:hi-qo]) {
					panic(fmt.Sprintf("conn %d: overlapping copies differ", i))
				}
				same := po == qo && len(p.Payload) == len(q.Payload)
				if same == exact {
					n++
				}
			}
		}
	}
	return n
}

// outOfOrder counts data packets that start before the highest offset
// already captured in their direction.
func outOfOrder(c *flowgen.Capture, pk [][]flowgen.Packet) int {
	n := 0
	for i := range c.Conns {
		cn := &c.Conns[i]
		var high [2]int64
		for _, p := range pk[i] {
			if len(p.Payload) == 0 {
				continue
			}
			o := off(cn, &p)
			if o < high[p.Dir] {
				n++
			}
			high[p.Dir] = max(high[p.Dir], o+int64(len(p.Payload)))
		}
	}
	return n
}

// sizes counts data packets with lo <= len(payload) <= hi.
func sizes(pk [][]flowgen.Packet, lo, hi int) int {
	n := 0
	for _, ps := range pk {
		for _, p := range ps {
			if len(p.Payload) >= lo && len(p.Payload) <= hi {
				n++
			}
		}
	}
	return n
}
