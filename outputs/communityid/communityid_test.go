package communityid

import (
	"net/netip"
	"testing"
)

// The spec's baseline (github.com/corelight/community-id-spec,
// baseline/baseline_deflt.json and baseline_seed1.json): every flow with
// ports (ICMP's rows carry the type and code mapped to ports, as the spec
// has them). Each row is checked both ways round.
var baseline = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
	{TCP, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{SCTP, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{TCP, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{UDP, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
}

func TestBaseline(t *testing.T) {
	for _, tc := range baseline {
		a := netip.AddrPortFrom(netip.MustParseAddr(tc.saddr), tc.sport)
		b := netip.AddrPortFrom(netip.MustParseAddr(tc.daddr), tc.dport)
		for _, s := range []struct {
			seed uint16
			want string
		}{{0, tc.seed0}, {1, tc.seed1}} {
			if got := V1(s.seed, tc.proto, a, b); got != s.want {
				t.Errorf("%d %v > %v seed %d: %s, want %s", tc.proto, a, b, s.seed, got, s.want)
			}
			if got := V1(s.seed, tc.proto, b, a); got != s.want {
				t.Errorf("%d %v > %v seed %d: %s, want %s", tc.proto, b, a, s.seed, got, s.want)
			}
		}
	}
}

// Equal addresses: the ports decide the order (the SCTP row above has
// equal ports). An IPv4 address mapped into IPv6 is the IPv4 address;
// endpoints of two families have no ID.
func TestEdges(t *testing.T) {
	x := netip.MustParseAddr("10.0.0.1")
	lo, hi := netip.AddrPortFrom(x, 1000), netip.AddrPortFrom(x, 80)
	if V1(0, TCP, lo, hi) != V1(0, TCP, hi, lo) || V1(0, TCP, lo, hi) == V1(0, TCP, lo, lo) {
		t.Error("equal addresses: the ID depends on the direction, or not on the ports")
	}
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.0.0.1"), 1000)
	if V1(0, TCP, mapped, hi) != V1(0, TCP, lo, hi) {
		t.Error("a mapped IPv4 address has another ID than the IPv4 address")
	}
	v6 := netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), 80)
	if got := AppendV1([]byte("x"), 0, TCP, lo, v6); string(got) != "x" {
		t.Errorf("two families: %q", got)
	}
	if got := V1(0, TCP, netip.AddrPort{}, hi); got != "" {
		t.Errorf("invalid address: %q", got)
	}
}

func TestAppendAllocs(t *testing.T) {
	a := netip.MustParseAddrPort("[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943")
	b := netip.MustParseAddrPort("[2607:f8b0:400c:c03::1a]:25")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendV1(buf[:0], 0, TCP, a, b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if string(buf) != "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" {
		t.Errorf("%s", buf)
	}
}

func BenchmarkAppendV1(b *testing.B) {
	x := netip.MustParseAddrPort("128.232.110.120:34855")
	y := netip.MustParseAddrPort("66.35.250.204:80")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV1(buf[:0], 0, TCP, x, y)
	}
}

func TestFieldAppendJSON(t *testing.T) {
	a := netip.MustParseAddrPort("128.232.110.120:34855")
	b := netip.MustParseAddrPort("66.35.250.204:80")
	if got := (Field{}).AppendJSON([]byte("{"), a, b); string(got) != "{" {
		t.Errorf("off: %q", got)
	}
	if got := (Field{On: true, Seed: 1}).AppendJSON([]byte("{"), b, a); string(got) != `{,"community_id":"1:3V71V58M3Ksw/yuFALMcW0LAHvc="` {
		t.Errorf("on, seed 1: %q", got)
	}
}
