package decode_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/reassembly"
)

// fragments4 splits an IPv4 packet (20-byte header) into fragments
// carrying chunk bytes each (a multiple of 8).
func fragments4(pkt []byte, chunk int) [][]byte {
	hdr, body := pkt[:20], pkt[20:]
	var out [][]byte
	for off := 0; off < len(body); off += chunk {
		end := min(off+chunk, len(body))
		ff := uint16(off / 8)
		if end < len(body) {
			ff |= 0x2000
		}
		out = append(out, frag4(hdr, ff, body[off:end]))
	}
	return out
}

// frag4 is one IPv4 fragment with the given flags/offset word and data.
func frag4(hdr []byte, ff uint16, data []byte) []byte {
	f := cat(hdr, data)
	binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
	binary.BigEndian.PutUint16(f[6:], ff)
	f[10], f[11] = 0, 0
	binary.BigEndian.PutUint16(f[10:], csum(f[:20]))
	return f
}

type fragRun struct {
	t   *testing.T
	d   *decode.Decoder
	seg reassembly.Segment
}

func newFragRun(t *testing.T, cfg decode.Config) *fragRun {
	return &fragRun{t: t, d: decode.New(cfg)}
}

func (r *fragRun) feed(link decode.LinkType, p []byte, ts time.Duration) (decode.Result, decode.Reason) {
	res, why := r.d.Decode(link, p, len(p), int64(ts), &r.seg)
	checkInvariants(r.t, r.d)
	return res, why
}

func (r *fragRun) want(link decode.LinkType, p []byte, ts time.Duration, res decode.Result, why decode.Reason) {
	r.t.Helper()
	if g, w := r.feed(link, p, ts); g != res || w != why {
		r.t.Fatalf("Decode = %v %v, want %v %v", g, w, res, why)
	}
}

func TestFragmentOrders(t *testing.T) {
	big := basic
	big.payload = bytes.Repeat([]byte("0123456789abcdef"), 100)
	pkt := tcp4(big)
	for _, chunk := range []int{8, 16, 512, 1480} {
		fr := fragments4(pkt, chunk)
		orders := map[string][]int{"forward": nil, "reverse": nil, "shuffled": nil}
		for i := range fr {
			orders["forward"] = append(orders["forward"], i)
			orders["reverse"] = append(orders["reverse"], len(fr)-1-i)
			orders["shuffled"] = append(orders["shuffled"], (i*7+3)%len(fr))
		}
		if len(fr)%7 == 0 {
			delete(orders, "shuffled")
		}
		for name, order := range orders {
			r := newFragRun(t, decode.Config{VerifyChecksums: true, FragMaxFragments: 1000})
			for n, i := range order {
				res, why := r.feed(decode.LinkIPv4, fr[i], time.Duration(n))
				if n < len(order)-1 {
					if res != decode.ResultFragment {
						t.Fatalf("chunk %d %s: fragment %d: %v %v", chunk, name, i, res, why)
					}
					continue
				}
				if res != decode.ResultTCP {
					t.Fatalf("chunk %d %s: last: %v %v", chunk, name, res, why)
				}
			}
			if !bytes.Equal(r.seg.Payload, big.payload) || uint32(r.seg.Seq) != basic.seq || r.seg.TS != int64(len(order)-1) {
				t.Errorf("chunk %d %s: reassembled segment %d bytes, seq %d", chunk, name, len(r.seg.Payload), r.seg.Seq)
			}
			st := r.d.Stats()
			if st.FragReassembled != 1 || st.Fragments != uint64(len(fr)) || st.FragPending != 0 || st.FragPendingBytes != 0 || st.FragOverlaps != 0 {
				t.Errorf("chunk %d %s: stats %+v", chunk, name, st)
			}
		}
	}
}

// TestFragmentOverlapPolicy: lowest offset wins; equal offsets, first wins.
func TestFragmentOverlapPolicy(t *testing.T) {
	s := basic
	s.payload = []byte("AAAAAAAABBBBBBBBCCCCCCCCDDDDDDDD")
	pkt := ip4Spec{src: a4, dst: b4, proto: 6, id: 77}.bytes(s.bytes()) // 20 + 52
	hdr, body := pkt[:20], pkt[20:]
	evil := bytes.Repeat([]byte("e"), 16)
	at := func(off int, data []byte, more bool) []byte {
		ff := uint16(off / 8)
		if more {
			ff |= 0x2000
		}
		return frag4(hdr, ff, data)
	}
	// body: TCP header [0,20) + payload [20,52). Fragments on 8-byte
	// boundaries: [0,24) [24,40) [40,52).
	for _, c := range []struct {
		name   string
		frags  [][]byte
		want   string
		confl  uint64
		overlp uint64
	}{
		{
			// A later fragment starting below an earlier one wins.
			name:  "later-lower-offset-wins",
			frags: [][]byte{at(0, body[:24], true), at(32, body[32:48], true), at(24, evil, true), at(48, body[48:], false)},
			want:  "AAAA" + "eeeeeeeeeeeeeeee" + "CCCCDDDDDDDD", confl: 1, overlp: 1,
		},
		{
			// A later fragment starting above an earlier one loses.
			name:  "later-higher-offset-loses",
			frags: [][]byte{at(0, body[:24], true), at(24, body[24:48], true), at(32, evil, true), at(48, body[48:], false)},
			want:  string(s.payload), confl: 1, overlp: 1,
		},
		{
			// Same offset: the first arrival wins.
			name:  "same-offset-first-wins",
			frags: [][]byte{at(24, body[24:40], true), at(24, evil, true), at(0, body[:24], true), at(40, body[40:], false)},
			want:  string(s.payload), confl: 1, overlp: 1,
		},
		{
			name:  "exact-duplicate",
			frags: [][]byte{at(0, body[:24], true), at(0, body[:24], true), at(24, body[24:], false)},
			want:  string(s.payload), confl: 0, overlp: 1,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newFragRun(t, decode.Config{})
			for i, f := range c.frags {
				res, why := r.feed(decode.LinkIPv4, f, 0)
				if last := i == len(c.frags)-1; last != (res == decode.ResultTCP) || why != 0 {
					t.Fatalf("fragment %d: %v %v", i, res, why)
				}
			}
			if string(r.seg.Payload) != c.want {
				t.Errorf("payload %q, want %q", r.seg.Payload, c.want)
			}
			if st := r.d.Stats(); st.FragConflicts != c.confl || st.FragOverlaps != c.overlp {
				t.Errorf("conflicts %d overlaps %d", st.FragConflicts, st.FragOverlaps)
			}
		})
	}
}

func TestFragmentLimits(t *testing.T) {
	pkt := tcp4(basic) // 20 + 38 bytes
	fr := fragments4(pkt, 8)
	other := func(id uint16) [][]byte {
		p := append([]byte(nil), pkt...)
		binary.BigEndian.PutUint16(p[4:], id)
		return fragments4(p, 8)
	}
	t.Run("timeout", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		r.want(decode.LinkIPv4, fr[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, fr[1], 30*time.Second, decode.ResultFragment, 0)
		// Any packet moves the clock: the datagram expires.
		r.want(decode.LinkIPv4, tcp4(basic), 31*time.Second, decode.ResultTCP, 0)
		st := r.d.Stats()
		if st.FragTimeouts != 1 || st.FragDropped != 2 || st.FragPending != 0 || st.FragPendingBytes != 0 {
			t.Errorf("stats %+v", st)
		}
		// The rest then starts a new datagram that never completes.
		for _, f := range fr[2:] {
			r.want(decode.LinkIPv4, f, 32*time.Second, decode.ResultFragment, 0)
		}
		// A custom timeout.
		r = newFragRun(t, decode.Config{FragTimeout: time.Second})
		r.want(decode.LinkIPv4, fr[0], 0, decode.ResultFragment, 0)
		for _, f := range fr[1:] {
			r.want(decode.LinkIPv4, f, 2*time.Second, decode.ResultFragment, 0)
		}
		if r.d.Stats().FragTimeouts != 1 {
			t.Errorf("custom timeout not applied")
		}
	})
	t.Run("max-datagrams", func(t *testing.T) {
		r := newFragRun(t, decode.Config{FragMaxDatagrams: 2})
		a, b, c := other(1), other(2), other(3)
		r.want(decode.LinkIPv4, a[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, b[0], 1, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, c[0], 2, decode.ResultFragment, 0) // evicts a
		if st := r.d.Stats(); st.FragEvictions != 1 || st.FragDropped != 1 || st.FragPending != 2 {
			t.Errorf("stats %+v", st)
		}
		for _, x := range [][][]byte{b, c} {
			for i, f := range x[1:] {
				want := decode.ResultFragment
				if i == len(x)-2 {
					want = decode.ResultTCP
				}
				r.want(decode.LinkIPv4, f, 3, want, 0)
			}
		}
	})
	t.Run("max-bytes", func(t *testing.T) {
		r := newFragRun(t, decode.Config{FragMaxBytes: 20})
		a, b := other(1), other(2)
		r.want(decode.LinkIPv4, a[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, a[1], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, b[0], 1, decode.ResultFragment, 0) // 24 > 20: evicts a
		if st := r.d.Stats(); st.FragEvictions != 1 || st.FragPendingBytes != 8 {
			t.Errorf("stats %+v", st)
		}
		r.want(decode.LinkIPv4, b[1], 1, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, b[2], 1, decode.ResultMalformed, decode.ReasonFragTooBig) // alone over budget
		if st := r.d.Stats(); st.FragPending != 0 || st.FragDropped != 4 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("max-fragments", func(t *testing.T) {
		r := newFragRun(t, decode.Config{FragMaxFragments: 3})
		r.want(decode.LinkIPv4, fr[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, fr[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, fr[1], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, fr[2], 0, decode.ResultMalformed, decode.ReasonFragTooMany)
		if st := r.d.Stats(); st.FragPending != 0 || st.FragDropped != 3 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("too-big", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		r.want(decode.LinkIPv4, fr[0], 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, frag4(pkt[:20], 8190, make([]byte, 16)), 0, decode.ResultMalformed, decode.ReasonFragTooBig)
		if st := r.d.Stats(); st.FragPending != 0 || st.FragDropped != 1 {
			t.Errorf("stats %+v", st)
		}
		r.want(decode.LinkIPv4, frag4(pkt[:20], 8189, make([]byte, 16)), 0, decode.ResultFragment, 0) // ends at 65528
	})
	t.Run("inconsistent-end", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		r.want(decode.LinkIPv4, frag4(pkt[:20], 2, make([]byte, 8)), 0, decode.ResultFragment, 0) // last, ends at 24
		r.want(decode.LinkIPv4, frag4(pkt[:20], 3, make([]byte, 8)), 0, decode.ResultMalformed, decode.ReasonFragInconsistent)
		r.want(decode.LinkIPv4, frag4(pkt[:20], 2, make([]byte, 8)), 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, frag4(pkt[:20], 0x2002, make([]byte, 16)), 0, decode.ResultMalformed, decode.ReasonFragInconsistent)
		r.want(decode.LinkIPv4, frag4(pkt[:20], 0x2004, make([]byte, 8)), 0, decode.ResultFragment, 0)
		r.want(decode.LinkIPv4, frag4(pkt[:20], 2, make([]byte, 8)), 0, decode.ResultMalformed, decode.ReasonFragInconsistent)
	})
	t.Run("not-tcp-and-cut", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		u := append([]byte(nil), fr[0]...)
		u[9] = 1 // ICMP: not held (UDP is, for the tunnels it may carry)
		r.want(decode.LinkIPv4, u, 0, decode.ResultNotTCP, 0)
		res, why := r.d.Decode(decode.LinkIPv4, fr[0][:len(fr[0])-1], len(fr[0]), 0, &r.seg)
		if res != decode.ResultMalformed || why != decode.ReasonFragTruncated {
			t.Errorf("cut fragment: %v %v", res, why)
		}
		if st := r.d.Stats(); st.Fragments != 2 || st.FragPending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("vlans-apart", func(t *testing.T) {
		r := newFragRun(t, decode.Config{})
		// The first fragment on VLAN 2 does not join VLAN 1's datagram.
		r.want(decode.LinkEthernet, ether(0x0800, fr[0], 0x8100_0002), 0, decode.ResultFragment, 0)
		for i, f := range fr {
			want := decode.ResultFragment
			if i == len(fr)-1 {
				want = decode.ResultTCP
			}
			r.want(decode.LinkEthernet, ether(0x0800, f, 0x8100_0001), 0, want, 0)
		}
		if v := r.seg.VLANs.Slice(); len(v) != 1 || v[0] != 1 {
			t.Errorf("VLANs %v", v)
		}
		if st := r.d.Stats(); st.FragPending != 1 {
			t.Errorf("pending %d", st.FragPending)
		}
	})
}

// frag6 is an IPv6 packet with a fragment header.
func frag6(nh byte, id uint32, off int, more bool, data []byte) []byte {
	fh := make([]byte, 8)
	fh[0] = nh
	fo := uint16(off)
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], fo)
	binary.BigEndian.PutUint32(fh[4:], id)
	return ip6(44, -1, cat(fh, data))
}

func TestFragmentsIPv6(t *testing.T) {
	s := basic.bytes()
	setTCPSum6(a6, b6, s)
	body := cat(ext6(6, make([]byte, 6)), s) // destination options, then TCP
	r := newFragRun(t, decode.Config{VerifyChecksums: true})
	r.want(decode.LinkIPv6, frag6(60, 9, 16, false, body[16:]), 0, decode.ResultFragment, 0)
	r.want(decode.LinkIPv6, frag6(60, 9, 0, true, body[:16]), 0, decode.ResultTCP, 0)
	checkBasicTCP(t, r.seg)
	if !r.seg.V6 || r.seg.Src != a6 {
		t.Errorf("seg %+v", r.seg)
	}
	// Fragments of ICMPv6 are not held.
	r.want(decode.LinkIPv6, frag6(58, 10, 0, true, make([]byte, 16)), 0, decode.ResultNotTCP, 0)
	// A fragment header inside a reassembled datagram.
	inner := cat(ext6(44, make([]byte, 6)), []byte{6, 0, 0, 1, 0, 0, 0, 1}, s)
	r.want(decode.LinkIPv6, frag6(60, 11, 0, true, inner[:16]), 0, decode.ResultFragment, 0)
	r.want(decode.LinkIPv6, frag6(60, 11, 16, false, inner[16:]), 0, decode.ResultMalformed, decode.ReasonExtHeader)
	if st := r.d.Stats(); st.FragReassembled != 2 || st.Fragments != 5 || st.FragPending != 0 {
		t.Errorf("stats %+v", st)
	}
}
