package decode_test

import "encoding/binary"

// Builders for encapsulations: plain byte assembly from the RFCs, written
// independently of the decoder.

// Inner addresses: distinct from the outer ones (a4/b4, a6/b6) so a test
// can tell which header the segment's addresses came from.
var (
	in4a = [4]byte{10, 1, 0, 1}
	in4b = [4]byte{10, 1, 0, 2}
)

// innerTCP4 is the inner IPv4 packet with basic's segment.
func innerTCP4() []byte {
	seg := basic.bytes()
	setTCPSum4(in4a, in4b, seg)
	return ip4Spec{src: in4a, dst: in4b, proto: 6, id: 7}.bytes(seg)
}

// outer4 wraps a payload in IPv4 a4 -> b4 with the protocol.
func outer4(proto byte, payload []byte) []byte {
	return ip4Spec{src: a4, dst: b4, proto: proto, id: 99}.bytes(payload)
}

// udpHdr is a UDP header (checksum 0) for a payload.
func udpHdr(sp, dp uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// greHdr builds a GRE header: flags (C 0x8000, K 0x2000, S 0x1000), type,
// and the optional fields the flags ask for.
func greHdr(flags, proto uint16, key uint32) []byte {
	b := binary.BigEndian.AppendUint16(nil, flags)
	b = binary.BigEndian.AppendUint16(b, proto)
	if flags&0x8000 != 0 {
		b = append(b, 0xab, 0xcd, 0, 0)
	}
	if flags&0x2000 != 0 {
		b = binary.BigEndian.AppendUint32(b, key)
	}
	if flags&0x1000 != 0 {
		b = binary.BigEndian.AppendUint32(b, 12345)
	}
	return b
}

func vxlanHdr(vni uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{0x08, 0, 0, 0}, vni<<8)
}

// geneveHdr with optWords 4-byte words of options.
func geneveHdr(proto uint16, vni uint32, optWords int) []byte {
	b := []byte{byte(optWords), 0}
	b = binary.BigEndian.AppendUint16(b, proto)
	b = binary.BigEndian.AppendUint32(b, vni<<8)
	for i := 0; i < optWords; i++ {
		b = append(b, 0x01, 0x02, 0x80, 0x00) // class, type; further words are option data
	}
	return b
}

// gtpHdr is a GTP-U G-PDU; exts are whole extension headers (each
// length*4 bytes, its last byte the next type, 0 on the last), announced
// by the E flag and type 0x85 in the optional fields.
func gtpHdr(teid uint32, inner []byte, exts ...[]byte) []byte {
	flags := byte(0x30) // version 1, PT 1
	var body []byte
	if len(exts) > 0 {
		flags |= 0x04
		body = []byte{0, 0, 0, 0x85}
	}
	for _, e := range exts {
		body = append(body, e...)
	}
	body = append(body, inner...)
	b := []byte{flags, 0xff}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	b = binary.BigEndian.AppendUint32(b, teid)
	return append(b, body...)
}

// mplsLabels is a label stack, bottom of stack set on the last.
func mplsLabels(labels ...uint32) []byte {
	var b []byte
	for i, l := range labels {
		v := l<<12 | 64
		if i == len(labels)-1 {
			v |= 0x100
		}
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func pppoeHdr(session uint16, proto uint16, payload []byte) []byte {
	b := []byte{0x11, 0}
	b = binary.BigEndian.AppendUint16(b, session)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(payload)))
	b = binary.BigEndian.AppendUint16(b, proto)
	return append(b, payload...)
}

func erspan2Hdr(session uint16) []byte {
	b := []byte{0x10, 0x64} // version 1, VLAN 100
	b = binary.BigEndian.AppendUint16(b, session&0x3ff)
	return append(b, 0, 0, 0, 0)
}

// erspan3Hdr with frame type ft and, with sub, the platform sub-header.
func erspan3Hdr(session uint16, ft byte, sub bool) []byte {
	b := []byte{0x20, 0}
	b = binary.BigEndian.AppendUint16(b, session&0x3ff)
	b = append(b, 1, 2, 3, 4) // timestamp
	b = append(b, 0, 0, ft<<2, 0)
	if sub {
		b[11] |= 1
		b = append(b, make([]byte, 8)...)
	}
	return b
}

// innerEther is an Ethernet frame around the inner IPv4 packet.
func innerEther() []byte { return ether(0x0800, innerTCP4()) }
