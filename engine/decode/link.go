package decode

import "strconv"

// LinkType is a pcap LINKTYPE_ value (the number in a pcap file header or a
// pcapng interface block). The decoder handles the ones named below.
type LinkType uint16

// Supported link types.
const (
	// LinkNull is BSD loopback (DLT_NULL): a 4-byte address family in the
	// byte order of the capturing host, then IP.
	LinkNull LinkType = 0
	// LinkEthernet is Ethernet II with any number of 802.1Q/802.1ad tags.
	LinkEthernet LinkType = 1
	// LinkRawDLT12 and LinkRawDLT14 are the platform DLT_RAW values some
	// old files carry instead of LinkRaw (12 on most systems, 14 on
	// OpenBSD): raw IPv4 or IPv6, told apart by the version nibble.
	LinkRawDLT12 LinkType = 12
	LinkRawDLT14 LinkType = 14
	// LinkRaw is raw IPv4 or IPv6 (LINKTYPE_RAW).
	LinkRaw LinkType = 101
	// LinkLoop is OpenBSD loopback (DLT_LOOP): like LinkNull, with the
	// address family in network byte order.
	LinkLoop LinkType = 108
	// LinkLinuxSLL is Linux cooked capture v1 (16-byte header).
	LinkLinuxSLL LinkType = 113
	// LinkIPv4 is raw IPv4 only.
	LinkIPv4 LinkType = 228
	// LinkIPv6 is raw IPv6 only.
	LinkIPv6 LinkType = 229
	// LinkLinuxSLL2 is Linux cooked capture v2 (20-byte header).
	LinkLinuxSLL2 LinkType = 276
)

// Supported reports whether Decode understands frames of this link type.
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRawDLT12, LinkRawDLT14, LinkRaw,
		LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2:
		return true
	}
	return false
}

// String returns the libpcap name of the link type, or "linktype-N".
func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "null"
	case LinkEthernet:
		return "ethernet"
	case LinkRawDLT12, LinkRawDLT14, LinkRaw:
		return "raw"
	case LinkLoop:
		return "loop"
	case LinkLinuxSLL:
		return "linux-sll"
	case LinkIPv4:
		return "ipv4"
	case LinkIPv6:
		return "ipv6"
	case LinkLinuxSLL2:
		return "linux-sll2"
	}
	return "linktype-" + strconv.Itoa(int(l))
}
