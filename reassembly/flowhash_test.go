package reassembly_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

func randAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
}

// FlowHash is the same both ways and for segments of one Key, and only
// then (up to collisions).
func TestFlowHashSymmetric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		var s reassembly.Segment
		s.SetAddrs(randAddr(r, i%2 == 0), randAddr(r, i%2 == 0))
		s.SrcPort, s.DstPort = uint16(r.Uint32()), uint16(r.Uint32())
		for range r.IntN(3) {
			s.VLANs.Push(uint16(r.IntN(4095) + 1))
		}
		back := s
		back.Src, back.Dst, back.SrcPort, back.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
		for _, noVLAN := range []bool{false, true} {
			if reassembly.FlowHash(&s, noVLAN) != reassembly.FlowHash(&back, noVLAN) {
				t.Fatalf("%v: not symmetric", s)
			}
		}
		other := s
		other.DstPort++
		if reassembly.FlowHash(&s, false) == reassembly.FlowHash(&other, false) {
			t.Fatalf("%v: the next port has the same hash", s)
		}
		if s.VLANs.N > 0 {
			novlan := s
			novlan.VLANs = reassembly.VLANs{}
			if reassembly.FlowHash(&s, true) != reassembly.FlowHash(&novlan, true) {
				t.Fatalf("noVLAN: VLANs still count")
			}
		}
	}
}

// FlowHash spreads the usual shapes of traffic evenly over workers: many
// clients of one server, one client on many ports, IPv6.
func TestFlowHashSpreads(t *testing.T) {
	srv := netip.MustParseAddr("203.0.113.1")
	shapes := map[string]func(i int, s *reassembly.Segment){
		"clients": func(i int, s *reassembly.Segment) {
			s.SetAddrs(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), srv)
			s.SrcPort, s.DstPort = 40000, 443
		},
		"ports": func(i int, s *reassembly.Segment) {
			s.SetAddrs(netip.MustParseAddr("10.0.0.1"), srv)
			s.SrcPort, s.DstPort = uint16(32768+i), 80
		},
		"ipv6": func(i int, s *reassembly.Segment) {
			s.SetAddrs(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), netip.MustParseAddr("2001:db8::1"))
			s.SrcPort, s.DstPort = uint16(50000+i%7), 443
		},
	}
	for name, shape := range shapes {
		for _, n := range []int{2, 3, 4, 8} {
			count := make([]int, n)
			const flows = 4000
			for i := range flows {
				var s reassembly.Segment
				shape(i, &s)
				count[reassembly.FlowHash(&s, false)%uint64(n)]++
			}
			for w, c := range count {
				if want := flows / n; c < want*85/100 || c > want*115/100 {
					t.Errorf("%s over %d workers: worker %d gets %d of %d flows", name, n, w, c, flows)
				}
			}
		}
	}
}
