package decode_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

var basic = tcpSpec{
	sport: 40000, dport: 80, seq: 0xfffffff0, ack: 12345, flags: 0x18, win: 501, urg: 7,
	payload: []byte("GET / HTTP/1.1\r\n\r\n"),
}

// mustTCP decodes one packet and fails unless it is TCP.
func mustTCP(t *testing.T, d *decode.Decoder, link decode.LinkType, data []byte, orig int) reassembly.Segment {
	t.Helper()
	var seg reassembly.Segment
	res, why := d.Decode(link, data, orig, 42, &seg)
	if res != decode.ResultTCP {
		t.Fatalf("Decode = %v %v, want tcp", res, why)
	}
	checkInvariants(t, d)
	return seg
}

func checkInvariants(t *testing.T, d *decode.Decoder) {
	t.Helper()
	st := d.Stats()
	if st.Packets != st.TCP+st.NotTCP+st.Fragment+st.Malformed {
		t.Errorf("stats: %d packets != %d+%d+%d+%d", st.Packets, st.TCP, st.NotTCP, st.Fragment, st.Malformed)
	}
	var m uint64
	for _, v := range st.Reasons {
		m += v
	}
	if m != st.Malformed {
		t.Errorf("stats: reasons sum %d != malformed %d", m, st.Malformed)
	}
}

func checkBasic4(t *testing.T, seg reassembly.Segment) {
	t.Helper()
	if got := netip.AddrFrom16(seg.Src).Unmap(); got != netip.AddrFrom4(a4) || seg.V6 {
		t.Errorf("src %v v6=%v", got, seg.V6)
	}
	if got := netip.AddrFrom16(seg.Dst).Unmap(); got != netip.AddrFrom4(b4) {
		t.Errorf("dst %v", got)
	}
	checkBasicTCP(t, seg)
}

func checkBasicTCP(t *testing.T, seg reassembly.Segment) {
	t.Helper()
	if seg.SrcPort != 40000 || seg.DstPort != 80 || seg.Seq != 0xfffffff0 || seg.Ack != 12345 ||
		seg.Flags != reassembly.PSH|reassembly.ACK || seg.Window != 501 || seg.Urgent != 7 || seg.WScale != -1 ||
		!bytes.Equal(seg.Payload, basic.payload) || seg.Truncated != 0 {
		t.Errorf("segment %+v", seg)
	}
}

func TestLinkTypes(t *testing.T) {
	v4 := tcp4(basic)
	v6 := tcp6(basic)
	le := func(af uint32, p []byte) []byte { return cat(binary.LittleEndian.AppendUint32(nil, af), p) }
	be := func(af uint32, p []byte) []byte { return cat(binary.BigEndian.AppendUint32(nil, af), p) }
	sll := func(proto uint16, p []byte) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], proto)
		return cat(h, p)
	}
	sll2 := func(proto uint16, p []byte) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h, proto)
		binary.BigEndian.PutUint32(h[4:], 2)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[11] = 6
		return cat(h, p)
	}
	for _, c := range []struct {
		name string
		link decode.LinkType
		data []byte
		v6   bool
	}{
		{"ethernet", decode.LinkEthernet, ether(0x0800, v4), false},
		{"ethernet6", decode.LinkEthernet, ether(0x86dd, v6), true},
		{"sll", decode.LinkLinuxSLL, sll(0x0800, v4), false},
		{"sll6", decode.LinkLinuxSLL, sll(0x86dd, v6), true},
		{"sll2", decode.LinkLinuxSLL2, sll2(0x0800, v4), false},
		{"sll2-6", decode.LinkLinuxSLL2, sll2(0x86dd, v6), true},
		{"raw4", decode.LinkRaw, v4, false},
		{"raw6", decode.LinkRaw, v6, true},
		{"raw12", decode.LinkRawDLT12, v4, false},
		{"raw14", decode.LinkRawDLT14, v6, true},
		{"ipv4", decode.LinkIPv4, v4, false},
		{"ipv6", decode.LinkIPv6, v6, true},
		{"null-le-2", decode.LinkNull, le(2, v4), false},
		{"null-be-2", decode.LinkNull, be(2, v4), false},
		{"null-le-24", decode.LinkNull, le(24, v6), true},
		{"null-le-28", decode.LinkNull, le(28, v6), true},
		{"null-be-30", decode.LinkNull, be(30, v6), true},
		{"loop-2", decode.LinkLoop, be(2, v4), false},
		{"loop-24", decode.LinkLoop, be(24, v6), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decode.New(decode.Config{VerifyChecksums: true})
			seg := mustTCP(t, d, c.link, c.data, len(c.data))
			checkBasicTCP(t, seg)
			if seg.TS != 42 {
				t.Errorf("TS = %d", seg.TS)
			}
			if seg.V6 != c.v6 {
				t.Errorf("V6 = %v", seg.V6)
			}
			if c.v6 {
				if seg.Src != a6 || seg.Dst != b6 {
					t.Errorf("addresses %x %x", seg.Src, seg.Dst)
				}
			} else {
				checkBasic4(t, seg)
			}
		})
	}
}

func TestNotTCPAndMalformedLinks(t *testing.T) {
	v4 := tcp4(basic)
	udp := ip4Spec{src: a4, dst: b4, proto: 17}.bytes(make([]byte, 8))
	for _, c := range []struct {
		name  string
		link  decode.LinkType
		data  []byte
		res   decode.Result
		why   decode.Reason
		notIP bool
	}{
		{"arp", decode.LinkEthernet, ether(0x0806, make([]byte, 28)), decode.ResultNotTCP, 0, true},
		{"llc", decode.LinkEthernet, ether(0x0040, make([]byte, 64)), decode.ResultNotTCP, 0, true},
		{"udp", decode.LinkEthernet, ether(0x0800, udp), decode.ResultNotTCP, 0, false},
		{"short-ether", decode.LinkEthernet, make([]byte, 13), decode.ResultMalformed, decode.ReasonLinkTruncated, false},
		{"short-vlan", decode.LinkEthernet, ether(0x8100, []byte{0, 1}), decode.ResultMalformed, decode.ReasonLinkTruncated, false},
		{"short-sll", decode.LinkLinuxSLL, make([]byte, 15), decode.ResultMalformed, decode.ReasonLinkTruncated, false},
		{"short-sll2", decode.LinkLinuxSLL2, make([]byte, 19), decode.ResultMalformed, decode.ReasonLinkTruncated, false},
		{"short-null", decode.LinkNull, []byte{2, 0, 0}, decode.ResultMalformed, decode.ReasonLinkTruncated, false},
		{"null-af-unknown", decode.LinkNull, cat([]byte{7, 0, 0, 0}, v4), decode.ResultNotTCP, 0, true},
		{"unsupported", decode.LinkType(105), v4, decode.ResultMalformed, decode.ReasonUnsupportedLink, false},
		{"raw-empty", decode.LinkRaw, nil, decode.ResultMalformed, decode.ReasonIPTruncated, false},
		{"raw-version", decode.LinkRaw, cat([]byte{0x55}, v4[1:]), decode.ResultMalformed, decode.ReasonIPVersion, false},
		{"ipv6-link-v4", decode.LinkIPv6, append(v4, make([]byte, 40)...), decode.ResultMalformed, decode.ReasonIPVersion, false},
		{"ipv4-link-v6", decode.LinkIPv4, tcp6(basic), decode.ResultMalformed, decode.ReasonIPVersion, false},
		{"ethertype-mismatch", decode.LinkEthernet, ether(0x86dd, append(v4, make([]byte, 40)...)), decode.ResultMalformed, decode.ReasonIPVersion, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decode.New(decode.Config{})
			var seg reassembly.Segment
			res, why := d.Decode(c.link, c.data, len(c.data), 0, &seg)
			if res != c.res || why != c.why {
				t.Fatalf("Decode = %v %v, want %v %v", res, why, c.res, c.why)
			}
			st := d.Stats()
			if (st.NotIP == 1) != c.notIP {
				t.Errorf("NotIP = %d", st.NotIP)
			}
			if c.res == decode.ResultMalformed && st.Reasons[c.why] != 1 {
				t.Errorf("Reasons[%v] = %d", c.why, st.Reasons[c.why])
			}
			checkInvariants(t, d)
		})
	}
}

func TestVLANs(t *testing.T) {
	v4 := tcp4(basic)
	for _, c := range []struct {
		name string
		tags []uint32
		want []uint16
		over uint64
	}{
		{"none", nil, nil, 0},
		{"dot1q", []uint32{0x8100_2064}, []uint16{100}, 0},
		{"pcp-dei-masked", []uint32{0x8100_f0c8}, []uint16{200}, 0},
		{"qinq-88a8", []uint32{0x88a8_000a, 0x8100_0014}, []uint16{10, 20}, 0},
		{"qinqinq-9100", []uint32{0x9100_001e, 0x8100_0014, 0x8100_000a}, []uint16{30, 20, 10}, 0},
		{"four", []uint32{0x88a8_0001, 0x8100_0002, 0x8100_0003, 0x8100_0004}, []uint16{1, 2, 3, 4}, 0},
		{"six", []uint32{0x88a8_0001, 0x8100_0002, 0x8100_0003, 0x8100_0004, 0x8100_0005, 0x8100_0006}, []uint16{1, 2, 3, 4}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decode.New(decode.Config{})
			seg := mustTCP(t, d, decode.LinkEthernet, ether(0x0800, v4, c.tags...), 0)
			checkBasic4(t, seg)
			if got := seg.VLANs.Slice(); !equalU16(got, c.want) {
				t.Errorf("VLANs %v, want %v", got, c.want)
			}
			if d.Stats().VLANOverflow != c.over {
				t.Errorf("VLANOverflow = %d", d.Stats().VLANOverflow)
			}
		})
	}
}

func equalU16(a, b []uint16) bool {
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

func TestIPv4(t *testing.T) {
	seg := basic.bytes()
	setTCPSum4(a4, b4, seg)
	ok := ip4Spec{src: a4, dst: b4, proto: 6}
	withOpts := ok
	withOpts.opts = []byte{0x94, 4, 0, 0, 1, 1, 1, 0} // router alert, nop, nop, nop, eol
	t.Run("options", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		checkBasic4(t, mustTCP(t, d, decode.LinkIPv4, withOpts.bytes(seg), 0))
	})
	t.Run("padding", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		p := append(ok.bytes(seg), 0, 0, 0, 0, 0, 0)
		checkBasic4(t, mustTCP(t, d, decode.LinkIPv4, p, 0))
	})
	t.Run("tso-length-0", func(t *testing.T) {
		d := decode.New(decode.Config{})
		z := ok
		z.totLen = -1
		got := mustTCP(t, d, decode.LinkIPv4, z.bytes(seg), 0)
		checkBasic4(t, got)
		if d.Stats().IPLenZero != 1 {
			t.Error("IPLenZero not counted")
		}
		// A TSO packet cut by the snap length: the frame length counts.
		p := z.bytes(seg)
		got = mustTCP(t, d, decode.LinkIPv4, p[:len(p)-5], len(p)+1000)
		if len(got.Payload) != len(basic.payload)-5 || got.Truncated != 1005 {
			t.Errorf("payload %d truncated %d", len(got.Payload), got.Truncated)
		}
	})
	t.Run("snaplen", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		p := ok.bytes(seg)
		got := mustTCP(t, d, decode.LinkIPv4, p[:len(p)-4], len(p))
		if !bytes.Equal(got.Payload, basic.payload[:len(basic.payload)-4]) || got.Truncated != 4 {
			t.Errorf("payload %q truncated %d", got.Payload, got.Truncated)
		}
		st := d.Stats()
		if st.SnapCutPackets != 1 || st.SnapCutBytes != 4 || st.TruncatedBytes != 4 || st.ChecksumsSkipped != 1 {
			t.Errorf("stats %+v", st)
		}
		// Cut in the options: delivered, payload all missing.
		o := basic
		o.flags = 0x02
		o.opts = []byte{2, 4, 5, 0xb4, 1, 3, 3, 7}
		s := o.bytes()
		p = ok.bytes(s)
		got = mustTCP(t, d, decode.LinkIPv4, p[:20+24], len(p))
		if got.Payload != nil || got.Truncated != len(basic.payload) || got.Flags != reassembly.SYN || got.WScale != -1 {
			t.Errorf("header cut: %+v", got)
		}
		got = mustTCP(t, d, decode.LinkIPv4, p[:20+28], len(p))
		if got.WScale != 7 {
			t.Errorf("wscale in captured options = %d", got.WScale)
		}
		if d.Stats().TCPHeaderCut != 1 || d.Stats().BadTCPOptions != 0 {
			t.Errorf("stats %+v", d.Stats())
		}
	})
	t.Run("length-beyond-frame", func(t *testing.T) {
		// The IP length says 100 more bytes than the frame had on the wire
		// (origLen = captured): not a snap-length cut, no gap invented.
		d := decode.New(decode.Config{VerifyChecksums: true})
		l := ok
		l.totLen = 20 + len(seg) + 100
		got := mustTCP(t, d, decode.LinkIPv4, l.bytes(seg), 0)
		if !bytes.Equal(got.Payload, basic.payload) || got.Truncated != 0 {
			t.Errorf("payload %q truncated %d", got.Payload, got.Truncated)
		}
		// Cut by 10 bytes: only those are missing.
		got = mustTCP(t, d, decode.LinkIPv4, l.bytes(seg), len(l.bytes(seg))+10)
		if got.Truncated != 10 {
			t.Errorf("truncated %d", got.Truncated)
		}
		if st := d.Stats(); st.ShortFrames != 2 || st.ChecksumsSkipped != 2 || st.TruncatedBytes != 10 {
			t.Errorf("stats %+v", st)
		}
	})
	for _, c := range []struct {
		name string
		p    []byte
		orig int
		why  decode.Reason
	}{
		{"short", ok.bytes(seg)[:19], 0, decode.ReasonIPTruncated},
		{"ihl-4", func() []byte { p := ok.bytes(seg); p[0] = 0x44; return p }(), 0, decode.ReasonBadIHL},
		{"tot<ihl", func() []byte { p := ok.bytes(seg); p[3] = 19; return p }(), 0, decode.ReasonBadIPLength},
		{"options-cut", withOpts.bytes(seg)[:24], 100, decode.ReasonIPTruncated},
		{"bad-ip-checksum", func() []byte { p := ok.bytes(seg); p[10] ^= 1; return p }(), 0, decode.ReasonIPChecksum},
		{"bad-tcp-checksum", func() []byte { p := ok.bytes(seg); p[len(p)-1] ^= 1; return p }(), 0, decode.ReasonTCPChecksum},
		{"tcp-short", ok.bytes(seg[:19]), 0, decode.ReasonTCPShort},
		{"tcp-truncated", ok.bytes(seg)[:20+19], 20 + len(seg), decode.ReasonTCPTruncated},
		{"doff-4", func() []byte { s := append([]byte(nil), seg...); s[12] = 0x40; return ok.bytes(s) }(), 0, decode.ReasonBadDataOffset},
		{"doff-past-end", func() []byte { s := append([]byte(nil), seg[:24]...); s[12] = 0x70; return ok.bytes(s) }(), 0, decode.ReasonBadDataOffset},
		{"ah-cut", ip4Spec{src: a4, dst: b4, proto: 51}.bytes(cat([]byte{6, 4}, make([]byte, 22), seg))[:26], 100, decode.ReasonIPTruncated},
		{"ah-past-end", ip4Spec{src: a4, dst: b4, proto: 51}.bytes([]byte{6, 4, 0, 0, 0, 0, 0, 0}), 0, decode.ReasonExtHeader},
		{"ah-too-short", ip4Spec{src: a4, dst: b4, proto: 51}.bytes(cat([]byte{6, 0, 0, 0, 0, 0, 0, 0}, seg)), 0, decode.ReasonExtHeader},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decode.New(decode.Config{VerifyChecksums: true})
			var s reassembly.Segment
			res, why := d.Decode(decode.LinkIPv4, c.p, c.orig, 0, &s)
			if res != decode.ResultMalformed || why != c.why {
				t.Fatalf("Decode = %v %v, want %v", res, why, c.why)
			}
			checkInvariants(t, d)
		})
	}
	t.Run("ah", func(t *testing.T) {
		d := decode.New(decode.Config{})
		ah := make([]byte, 24) // next header TCP, length (24/4)-2 = 4
		ah[0], ah[1] = 6, 4
		checkBasic4(t, mustTCP(t, d, decode.LinkIPv4, ip4Spec{src: a4, dst: b4, proto: 51}.bytes(cat(ah, seg)), 0))
	})
}

func TestTCPFields(t *testing.T) {
	d := decode.New(decode.Config{VerifyChecksums: true})
	s := basic
	s.flags = 0xff
	s.ns = true
	s.opts = []byte{2, 4, 5, 0xb4, 1, 3, 3, 9, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}
	got := mustTCP(t, d, decode.LinkRaw, tcp4(s), 0)
	if got.Flags != 0x1ff || got.WScale != 9 || !bytes.Equal(got.Payload, basic.payload) {
		t.Errorf("got %+v", got)
	}
	if got.Flags.String() != "SFPRUEWN." {
		t.Errorf("flags %q", got.Flags)
	}
	// Window scale only from SYNs; shifts above 14 are 14.
	s.flags = 0x10
	if got := mustTCP(t, d, decode.LinkRaw, tcp4(s), 0); got.WScale != -1 {
		t.Errorf("non-SYN wscale %d", got.WScale)
	}
	s.flags = 0x02
	s.opts = []byte{3, 3, 20}
	if got := mustTCP(t, d, decode.LinkRaw, tcp4(s), 0); got.WScale != 14 {
		t.Errorf("wscale 20 -> %d", got.WScale)
	}
	// Options walked safely: zero length, past the end, after EOL.
	for _, o := range [][]byte{{2, 0, 3, 3, 7}, {1, 1, 1, 3}, {8, 40, 3, 3, 7}, {0, 3, 3, 7}} {
		s.opts = o
		if got := mustTCP(t, d, decode.LinkRaw, tcp4(s), 0); got.WScale != -1 {
			t.Errorf("opts %v: wscale %d", o, got.WScale)
		}
	}
	if d.Stats().BadTCPOptions != 3 {
		t.Errorf("BadTCPOptions = %d", d.Stats().BadTCPOptions)
	}
}

func TestIPv6(t *testing.T) {
	seg := basic.bytes()
	setTCPSum6(a6, b6, seg)
	hbh := func(nh byte) []byte { return ext6(nh, []byte{1, 2, 0, 0}) } // PadN
	t.Run("ext-chain", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		p := ip6(0, -1, cat(hbh(43), ext6(60, []byte{0, 0, 0, 0, 0, 0}), ext6(6, nil), seg))
		got := mustTCP(t, d, decode.LinkIPv6, p, 0)
		checkBasicTCP(t, got)
		if !got.V6 || got.Src != a6 || got.Dst != b6 {
			t.Errorf("addresses %+v", got)
		}
	})
	t.Run("ah", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		ah := make([]byte, 24)
		ah[0], ah[1] = 6, 4
		checkBasicTCP(t, mustTCP(t, d, decode.LinkIPv6, ip6(51, -1, cat(ah, seg)), 0))
	})
	t.Run("atomic-fragment", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		fh := []byte{6, 0, 0, 0, 0, 0, 0, 9}
		checkBasicTCP(t, mustTCP(t, d, decode.LinkIPv6, ip6(44, -1, cat(fh, seg)), 0))
		if st := d.Stats(); st.FragAtomic != 1 || st.Fragments != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("padding-and-snaplen", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		p := ip6(6, -1, seg)
		checkBasicTCP(t, mustTCP(t, d, decode.LinkIPv6, append(p, 0, 0, 0), 0))
		got := mustTCP(t, d, decode.LinkIPv6, p[:len(p)-3], len(p))
		if got.Truncated != 3 || len(got.Payload) != len(basic.payload)-3 {
			t.Errorf("cut: %+v", got)
		}
	})
	t.Run("jumbogram", func(t *testing.T) {
		d := decode.New(decode.Config{VerifyChecksums: true})
		big := basic
		big.payload = bytes.Repeat([]byte("x"), 70000)
		s := big.bytes()
		setTCPSum6(a6, b6, s)
		jumbo := ext6(6, binary.BigEndian.AppendUint32([]byte{0xc2, 4}, uint32(8+len(s))))
		p := ip6(0, 0, cat(jumbo, s))
		got := mustTCP(t, d, decode.LinkEthernet, ether(0x86dd, append(p, 0, 0, 0, 0)), 0)
		if len(got.Payload) != 70000 || got.Truncated != 0 {
			t.Errorf("payload %d truncated %d", len(got.Payload), got.Truncated)
		}
		// Cut by the snap length.
		got = mustTCP(t, d, decode.LinkIPv6, p[:1000], len(p))
		if len(got.Payload) != 1000-40-8-20 || got.Truncated != 70000-len(got.Payload) {
			t.Errorf("payload %d truncated %d", len(got.Payload), got.Truncated)
		}
		// A Jumbo length far beyond the frame invents no gap.
		lie := ip6(0, 0, cat(ext6(6, []byte{0xc2, 4, 0xff, 0xff, 0xff, 0xff}), s))
		if got := mustTCP(t, d, decode.LinkIPv6, lie, 0); len(got.Payload) != 70000 || got.Truncated != 0 {
			t.Errorf("lying jumbogram: payload %d truncated %d", len(got.Payload), got.Truncated)
		}
		if st := d.Stats(); st.Jumbograms != 3 || st.ChecksumsSkipped != 2 || st.ShortFrames != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("length-0-no-jumbo", func(t *testing.T) {
		d := decode.New(decode.Config{})
		checkBasicTCP(t, mustTCP(t, d, decode.LinkIPv6, ip6(6, 0, seg), 0))
		checkBasicTCP(t, mustTCP(t, d, decode.LinkIPv6, ip6(0, 0, cat(hbh(6), seg)), 0))
		if d.Stats().IPLenZero != 2 {
			t.Errorf("IPLenZero %d", d.Stats().IPLenZero)
		}
	})
	for _, c := range []struct {
		name string
		p    []byte
		orig int
		res  decode.Result
		why  decode.Reason
	}{
		{"short", ip6(6, -1, seg)[:39], 0, decode.ResultMalformed, decode.ReasonIPTruncated},
		{"udp", ip6(17, -1, make([]byte, 8)), 0, decode.ResultNotTCP, 0},
		{"esp", ip6(50, -1, make([]byte, 16)), 0, decode.ResultNotTCP, 0},
		{"no-next", ip6(59, -1, nil), 0, decode.ResultNotTCP, 0},
		{"dest-then-udp", ip6(60, -1, cat(ext6(17, nil), make([]byte, 8))), 0, decode.ResultNotTCP, 0},
		{"hbh-past-plen", ip6(0, 4, cat(hbh(6), seg)), 0, decode.ResultMalformed, decode.ReasonExtHeader},
		{"hbh-cut", ip6(0, -1, cat(hbh(6), seg))[:44], 200, decode.ResultMalformed, decode.ReasonIPTruncated},
		{"dest-past-plen", ip6(60, 8, cat(ext6(6, make([]byte, 14)), seg)), 0, decode.ResultMalformed, decode.ReasonExtHeader},
		{"dest-cut", ip6(60, -1, cat(ext6(6, make([]byte, 14)), seg))[:50], 200, decode.ResultMalformed, decode.ReasonIPTruncated},
		{"jumbo-with-plen", ip6(0, len(seg)+8, cat(ext6(6, []byte{0xc2, 4, 0, 1, 0, 0}), seg)), 0, decode.ResultMalformed, decode.ReasonBadJumbo},
		{"jumbo-too-small", ip6(0, 0, cat(ext6(6, []byte{0xc2, 4, 0, 0, 0, 4}), seg)), 0, decode.ResultMalformed, decode.ReasonBadJumbo},
		{"bad-tcp-checksum", func() []byte { p := ip6(6, -1, seg); p[45] ^= 0x80; return p }(), 0, decode.ResultMalformed, decode.ReasonTCPChecksum},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := decode.New(decode.Config{VerifyChecksums: true})
			var s reassembly.Segment
			res, why := d.Decode(decode.LinkIPv6, c.p, c.orig, 0, &s)
			if res != c.res || why != c.why {
				t.Fatalf("Decode = %v %v, want %v %v", res, why, c.res, c.why)
			}
			checkInvariants(t, d)
		})
	}
}

func TestStatsAddAndNames(t *testing.T) {
	d := decode.New(decode.Config{})
	var seg reassembly.Segment
	d.Decode(decode.LinkIPv4, tcp4(basic), 0, 0, &seg)
	d.Decode(decode.LinkType(999), nil, 0, 0, &seg)
	a, b := d.Stats(), d.Stats()
	a.Add(&b)
	if a.Packets != 4 || a.TCP != 2 || a.Reasons[decode.ReasonUnsupportedLink] != 2 {
		t.Errorf("Add: %+v", a)
	}
	seen := map[string]bool{}
	for r := decode.Reason(0); r < decode.NumReasons; r++ {
		n := r.String()
		if n == "" || n == "reason?" || seen[n] {
			t.Errorf("reason %d name %q", r, n)
		}
		seen[n] = true
	}
	if decode.LinkType(999).String() != "linktype-999" || decode.LinkType(999).Supported() || !decode.LinkLinuxSLL2.Supported() {
		t.Error("LinkType helpers")
	}
}

func TestAllocs(t *testing.T) {
	seg6 := basic.bytes()
	setTCPSum6(a6, b6, seg6)
	pkts := []struct {
		link decode.LinkType
		data []byte
	}{
		{decode.LinkEthernet, ether(0x0800, tcp4(basic))},
		{decode.LinkEthernet, ether(0x0800, tcp4(basic), 0x88a8_0001, 0x8100_0002)},
		{decode.LinkEthernet, ether(0x86dd, ip6(0, -1, cat(ext6(6, nil), seg6)))},
		{decode.LinkLinuxSLL2, cat(u16(0x0800), make([]byte, 18), tcp4(basic))},
		{decode.LinkNull, cat([]byte{2, 0, 0, 0}, tcp4(basic))},
	}
	frags := fragments4(tcp4(basic), 16)
	d := decode.New(decode.Config{VerifyChecksums: true})
	var seg reassembly.Segment
	var ts int64
	run := func() {
		for _, p := range pkts {
			if r, _ := d.Decode(p.link, p.data, len(p.data), ts, &seg); r != decode.ResultTCP {
				t.Fatal(r)
			}
		}
		for i, f := range frags {
			r, _ := d.Decode(decode.LinkIPv4, f, len(f), ts, &seg)
			if (i == len(frags)-1) != (r == decode.ResultTCP) {
				t.Fatal(i, r)
			}
		}
		ts += 1e9
	}
	run() // warm up the fragment buffers
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
