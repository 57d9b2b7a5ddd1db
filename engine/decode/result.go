package decode

// Result says what Decode made of a packet.
type Result uint8

// Results. Every Decode call returns exactly one, and Stats counts each.
const (
	// ResultTCP: seg holds a TCP segment (possibly from a reassembled
	// IP datagram, see Decoder).
	ResultTCP Result = iota
	// ResultNotTCP: a well-formed packet that carries no TCP: not IP at
	// all (ARP, LLC, ...), or IP with another protocol (UDP, ICMP, ESP,
	// a non-TCP fragment, ...).
	ResultNotTCP
	// ResultFragment: an IP fragment of a TCP datagram, buffered until its
	// datagram is complete. seg is not filled.
	ResultFragment
	// ResultMalformed: the packet could not be decoded; the Reason says
	// why. seg is not filled.
	ResultMalformed
)

func (r Result) String() string {
	switch r {
	case ResultTCP:
		return "tcp"
	case ResultNotTCP:
		return "not-tcp"
	case ResultFragment:
		return "fragment"
	case ResultMalformed:
		return "malformed"
	}
	return "result?"
}

// Reason is why a packet is ResultMalformed (ReasonNone otherwise).
type Reason uint8

// Reasons for ResultMalformed.
const (
	ReasonNone Reason = iota
	// ReasonUnsupportedLink: Decode does not know the link type.
	ReasonUnsupportedLink
	// ReasonLinkTruncated: the link-layer header (or a VLAN tag) is cut.
	ReasonLinkTruncated
	// ReasonIPTruncated: the IP header, its options or an IPv6 extension
	// header lies past the captured bytes (cut by the snap length).
	ReasonIPTruncated
	// ReasonIPVersion: the version nibble does not match the link layer's
	// protocol field (or is neither 4 nor 6 on raw IP links).
	ReasonIPVersion
	// ReasonBadIHL: IPv4 header length below 20 bytes.
	ReasonBadIHL
	// ReasonBadIPLength: the IP length cannot hold the IP headers.
	ReasonBadIPLength
	// ReasonIPChecksum: bad IPv4 header checksum (Config.VerifyChecksums).
	ReasonIPChecksum
	// ReasonExtHeader: an IPv6 extension header or IPsec AH header runs
	// past the IP length or is too short, or a reassembled datagram holds
	// another fragment header.
	ReasonExtHeader
	// ReasonBadJumbo: a Jumbo Payload option with a non-zero IPv6 payload
	// length, or shorter than the hop-by-hop header (RFC 2675).
	ReasonBadJumbo
	// ReasonFragTruncated: a fragment cut by the snap length; it cannot
	// be reassembled.
	ReasonFragTruncated
	// ReasonFragTooBig: the fragment ends past 65535 bytes of payload (or
	// the datagram alone exceeds Config.FragMaxBytes); the datagram is
	// dropped.
	ReasonFragTooBig
	// ReasonFragTooMany: more than Config.FragMaxFragments fragments for
	// one datagram; the datagram is dropped.
	ReasonFragTooMany
	// ReasonFragInconsistent: fragments disagree on where the datagram
	// ends; the datagram is dropped.
	ReasonFragInconsistent
	// ReasonTCPTruncated: fewer than 20 bytes of TCP header captured.
	ReasonTCPTruncated
	// ReasonTCPShort: the IP length leaves less than 20 bytes for TCP.
	ReasonTCPShort
	// ReasonBadDataOffset: TCP data offset below 5 words or past the end
	// of the segment as the IP length gives it.
	ReasonBadDataOffset
	// ReasonTCPChecksum: bad TCP checksum (Config.VerifyChecksums).
	ReasonTCPChecksum
	// ReasonTunnelDepth: more than MaxTunnelDepth encapsulation layers.
	ReasonTunnelDepth
	// ReasonMPLS: an MPLS label stack without bottom of stack (within
	// 16 labels) or without payload.
	ReasonMPLS
	// ReasonPPPoE: a PPPoE session header of the wrong version/type or
	// code, or too short.
	ReasonPPPoE
	// ReasonGRE: a GRE header too short for its flags, or with routing,
	// strict source route or recursion bits set (RFC 2784).
	ReasonGRE
	// ReasonERSPAN: an ERSPAN II/III header too short or of the wrong
	// version for its GRE protocol type.
	ReasonERSPAN
	// ReasonVXLAN: a VXLAN header too short or without its I flag.
	ReasonVXLAN
	// ReasonGENEVE: a GENEVE header too short for its options, or not
	// version 0.
	ReasonGENEVE
	// ReasonGTP: a GTP-U G-PDU header or extension header chain too short,
	// or an extension of length 0, or more than 16 extensions.
	ReasonGTP
	// ReasonAYIYA: an AYIYA header too short for its identity and
	// signature.
	ReasonAYIYA

	// NumReasons is the number of reasons (the size of Stats.Reasons).
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonNone:             "none",
	ReasonUnsupportedLink:  "unsupported-link-type",
	ReasonLinkTruncated:    "link-truncated",
	ReasonIPTruncated:      "ip-truncated",
	ReasonIPVersion:        "ip-version",
	ReasonBadIHL:           "bad-ihl",
	ReasonBadIPLength:      "bad-ip-length",
	ReasonIPChecksum:       "bad-ip-checksum",
	ReasonExtHeader:        "bad-ext-header",
	ReasonBadJumbo:         "bad-jumbogram",
	ReasonFragTruncated:    "fragment-truncated",
	ReasonFragTooBig:       "fragment-too-big",
	ReasonFragTooMany:      "fragment-too-many",
	ReasonFragInconsistent: "fragment-inconsistent",
	ReasonTCPTruncated:     "tcp-truncated",
	ReasonTCPShort:         "tcp-short",
	ReasonBadDataOffset:    "bad-tcp-data-offset",
	ReasonTCPChecksum:      "bad-tcp-checksum",
	ReasonTunnelDepth:      "tunnel-too-deep",
	ReasonMPLS:             "bad-mpls",
	ReasonPPPoE:            "bad-pppoe",
	ReasonGRE:              "bad-gre",
	ReasonERSPAN:           "bad-erspan",
	ReasonVXLAN:            "bad-vxlan",
	ReasonGENEVE:           "bad-geneve",
	ReasonGTP:              "bad-gtp",
	ReasonAYIYA:            "bad-ayiya",
}

// String returns a short kebab-case name, usable as a metric label.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason?"
}

// Stats are a Decoder's counters. They only grow (FragPending and
// FragPendingBytes excepted). Packets == TCP + NotTCP + Fragment +
// Malformed, and Malformed is the sum of Reasons.
type Stats struct {
	Packets   uint64 // Decode calls
	TCP       uint64 // ResultTCP
	NotTCP    uint64 // ResultNotTCP
	Fragment  uint64 // ResultFragment (fragments buffered)
	Malformed uint64 // ResultMalformed
	// Reasons counts ResultMalformed packets by Reason.
	Reasons [NumReasons]uint64

	NotIP            uint64 // NotTCP packets that were not IP at all
	SnapCutPackets   uint64 // packets with origLen > captured length
	SnapCutBytes     uint64 // sum of origLen - captured length
	TruncatedBytes   uint64 // sum of Segment.Truncated over ResultTCP
	TCPHeaderCut     uint64 // TCP segments whose options the capture cut (delivered, options walked as far as captured)
	ShortFrames      uint64 // TCP segments whose IP length exceeds the frame's wire length (Truncated limited to what the capture cut)
	BadTCPOptions    uint64 // SYN options that ran past the header (walk stopped; segment delivered)
	IPLenZero        uint64 // IPv4 total length 0 / IPv6 payload length 0 without Jumbo option (TSO/GSO captures)
	Jumbograms       uint64 // IPv6 jumbograms (RFC 2675)
	VLANOverflow     uint64 // packets with more than reassembly.MaxVLANs tags (the deeper ids are not kept)
	ChecksumsSkipped uint64 // VerifyChecksums on, but the segment was not captured whole

	Tunnelled uint64 // ResultTCP segments found inside at least one encapsulation
	// TunnelLayers counts encapsulation layers opened, by kind, over all
	// packets (whatever their result).
	TunnelLayers [NumTunnelKinds]uint64

	Fragments        uint64 // IP fragments seen (any protocol; atomic fragments excluded)
	FragAtomic       uint64 // IPv6 atomic fragments (offset 0, M 0; RFC 6946), decoded directly
	FragReassembled  uint64 // datagrams completed
	FragOverlaps     uint64 // fragments overlapping bytes already held
	FragConflicts    uint64 // overlapping fragments whose bytes differed
	FragTimeouts     uint64 // datagrams dropped incomplete after Config.FragTimeout
	FragEvictions    uint64 // datagrams dropped incomplete to make room (FragMaxDatagrams/FragMaxBytes)
	FragDropped      uint64 // buffered fragments thrown away with dropped datagrams (timeouts, evictions, errors)
	FragPending      uint64 // datagrams waiting now
	FragPendingBytes uint64 // fragment bytes held now
}

// Add adds o's counters to s (FragPending and FragPendingBytes too: totals
// over workers).
func (s *Stats) Add(o *Stats) {
	s.Packets += o.Packets
	s.TCP += o.TCP
	s.NotTCP += o.NotTCP
	s.Fragment += o.Fragment
	s.Malformed += o.Malformed
	for i := range s.Reasons {
		s.Reasons[i] += o.Reasons[i]
	}
	s.NotIP += o.NotIP
	s.SnapCutPackets += o.SnapCutPackets
	s.SnapCutBytes += o.SnapCutBytes
	s.TruncatedBytes += o.TruncatedBytes
	s.TCPHeaderCut += o.TCPHeaderCut
	s.ShortFrames += o.ShortFrames
	s.BadTCPOptions += o.BadTCPOptions
	s.IPLenZero += o.IPLenZero
	s.Jumbograms += o.Jumbograms
	s.VLANOverflow += o.VLANOverflow
	s.ChecksumsSkipped += o.ChecksumsSkipped
	s.Tunnelled += o.Tunnelled
	for i := range s.TunnelLayers {
		s.TunnelLayers[i] += o.TunnelLayers[i]
	}
	s.Fragments += o.Fragments
	s.FragAtomic += o.FragAtomic
	s.FragReassembled += o.FragReassembled
	s.FragOverlaps += o.FragOverlaps
	s.FragConflicts += o.FragConflicts
	s.FragTimeouts += o.FragTimeouts
	s.FragEvictions += o.FragEvictions
	s.FragDropped += o.FragDropped
	s.FragPending += o.FragPending
	s.FragPendingBytes += o.FragPendingBytes
}
