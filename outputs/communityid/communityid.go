// Package communityid computes the Community ID flow hash, version 1
// (github.com/corelight/community-id-spec): the string Suricata (eve.json
// community_id), Zeek (community-id-logging), Wireshark, Arkime and
// Elastic's network.community_id give a flow, so that records of
// different monitors join on one string.
//
// The ID of a flow is "1:" and the base64 of the SHA-1 of: the seed (2
// bytes), the smaller endpoint's address, the other's, the IP protocol,
// a zero byte, the smaller endpoint's port and the other's, all in
// network byte order; "smaller" compares the addresses, then the ports,
// so both directions of a flow have one ID. VLANs and tunnels are not
// part of it (the spec leaves nesting out): a tunnelled flow has the ID
// of its innermost addresses and ports.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// Protocol numbers of the flows that have ports.
const (
	TCP  = 6
	UDP  = 17
	SCTP = 132
)

// AppendV1 appends the version 1 Community ID of the flow between a and
// b (either way round) with IP protocol proto (TCP, UDP or SCTP) under
// seed (0 unless the monitors agreed on another) to dst. It allocates
// nothing when dst has room for the 30 bytes. An IPv4 address mapped
// into IPv6 (::ffff:a.b.c.d) counts as the IPv4 address; a and b of
// different families give no ID (dst is returned as it is).
func AppendV1(dst []byte, seed uint16, proto uint8, a, b netip.AddrPort) []byte {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	if aa.Is4() != ba.Is4() || !aa.IsValid() || !ba.IsValid() {
		return dst
	}
	ap, bp := a.Port(), b.Port()
	if c := aa.Compare(ba); c > 0 || c == 0 && ap > bp {
		aa, ba, ap, bp = ba, aa, bp, ap
	}
	var buf [2 + 16 + 16 + 2 + 2 + 2]byte
	buf[0], buf[1] = byte(seed>>8), byte(seed)
	n := 2
	if aa.Is4() {
		x, y := aa.As4(), ba.As4()
		n += copy(buf[n:], x[:])
		n += copy(buf[n:], y[:])
	} else {
		x, y := aa.As16(), ba.As16()
		n += copy(buf[n:], x[:])
		n += copy(buf[n:], y[:])
	}
	buf[n], buf[n+1] = proto, 0
	buf[n+2], buf[n+3] = byte(ap>>8), byte(ap)
	buf[n+4], buf[n+5] = byte(bp>>8), byte(bp)
	sum := sha1.Sum(buf[:n+6])
	dst = append(dst, "1:"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// V1 is AppendV1 as a string.
func V1(seed uint16, proto uint8, a, b netip.AddrPort) string {
	return string(AppendV1(make([]byte, 0, 30), seed, proto, a, b))
}

// Field is a JSON log's community_id option: whether its lines carry one,
// and under which seed.
type Field struct {
	On   bool
	Seed uint16
}

// AppendJSON appends `,"community_id":"<ID>"` for the TCP connection
// between a and b to dst when f is on (the ID is base64: nothing to
// escape); nothing otherwise.
func (f Field) AppendJSON(dst []byte, a, b netip.AddrPort) []byte {
	if !f.On {
		return dst
	}
	dst = append(dst, `,"community_id":"`...)
	dst = AppendV1(dst, f.Seed, TCP, a, b)
	return append(dst, '"')
}
