// Package decode turns captured frames into reassembly.Segments.
//
// A Decoder parses the link layer (Ethernet with stacked VLAN tags, Linux
// cooked v1/v2, raw IP, BSD null/loopback), IPv4 (options, TSO length 0,
// snap-length cuts), IPv6 (extension headers, jumbograms), reassembles IP
// fragments, opens tunnels, and parses the innermost TCP header into a
// caller-owned Segment. It does not allocate per packet once warmed up,
// does not copy payloads, and never panics, whatever the input.
//
// # Tunnels
//
// MPLS label stacks (IPv4/IPv6 after the bottom label, Ethernet with or
// without a pseudowire control word), PPPoE sessions, GRE (checksum, key,
// sequence; IPv4, IPv6, transparent Ethernet bridging, MPLS, anything with
// an EtherType), ERSPAN I/II/III, GRE in UDP (4754), VXLAN (UDP 4789,
// Config.VXLANPorts), GENEVE (6081, options skipped), IPv4/IPv6 in
// IPv4/IPv6, Teredo (3544, elsewhere by a heuristic), GTP-U (2152, with
// extension headers) and AYIYA (5072), nested in any order up to
// MaxTunnelDepth layers. Tunnel ports match on either side, as tshark
// does. The innermost addresses, ports and every VLAN tag on the way key
// the segment; Decoder.Tunnel names the layers, and Config.TunnelKey puts
// their hash in Segment.Tunnel. Fragments of the protocols that may carry
// a tunnel (4, 41, 47, 17) are reassembled before it is opened. A bad or
// cut encapsulation header is ResultMalformed with its own Reason.
package decode

import (
	"encoding/binary"
	"time"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Config tunes a Decoder. The zero value is ready to use; fields at zero (or
// below) take the defaults given.
type Config struct {
	// VerifyChecksums checks IPv4 header and TCP checksums (IPv4 and IPv6
	// pseudo-headers) and reports bad ones as ResultMalformed. Off by
	// default: captures taken on a sending host with checksum offload carry
	// unfinished checksums on every outgoing packet. Segments not captured
	// whole cannot be checked and are counted in Stats.ChecksumsSkipped.
	VerifyChecksums bool
	// FragTimeout is how long, on the capture clock (packet timestamps),
	// an incomplete fragmented datagram waits for its missing fragments.
	// Default 30s.
	FragTimeout time.Duration
	// FragMaxDatagrams bounds the datagrams being reassembled at once; the
	// oldest is dropped to make room. Default 256.
	FragMaxDatagrams int
	// FragMaxFragments bounds the fragments of one datagram; one more drops
	// the datagram. Default 128.
	FragMaxFragments int
	// FragMaxBytes bounds the fragment bytes held over all datagrams; the
	// oldest datagrams are dropped to make room. Default 4 MiB.
	FragMaxBytes int
	// TunnelKey puts the tunnel's identity into Segment.Tunnel (Chain.Hash
	// of the encapsulation layers and their ids), so that connections in
	// different tunnels with the same inner addresses stay apart. Off: the
	// innermost addresses, ports and VLANs alone identify a connection and
	// Segment.Tunnel is 0.
	TunnelKey bool
	// VXLANPorts are UDP destination ports decoded as VXLAN besides 4789.
	VXLANPorts []uint16
	// NoTeredoHeuristic decodes Teredo on UDP port 3544 only. By default
	// any UDP datagram holding exactly one IPv6 packet (after Teredo's
	// optional headers) is taken as Teredo, since relays use any port.
	NoTeredoHeuristic bool
	// Names, with TunnelKey, receives the text of every chain the Decoder
	// keys a segment by, so that outputs can name a connection's tunnel.
	// Decoders of all workers may share one.
	Names *TunnelNames
}

// Defaults for Config's zero fields.
const (
	DefaultFragTimeout      = 30 * time.Second
	DefaultFragMaxDatagrams = 256
	DefaultFragMaxFragments = 128
	DefaultFragMaxBytes     = 4 << 20
)

// Decoder decodes packets. It is not safe for concurrent use: give each
// worker its own.
//
// # Fragments
//
// IPv4 fragments of TCP datagrams, and IPv6 fragments whose first header is
// TCP or an extension header, are held until their datagram is complete;
// so are fragments of IP in IP, GRE and UDP, which may carry a tunnel
// (other fragments are ResultNotTCP straight away). A datagram is keyed by
// source, destination, identification, protocol (IPv4 only) and VLAN stack.
// The fragment that completes it returns ResultTCP with the datagram's TCP
// segment; its timestamp, VLANs and link are the completing fragment's.
// The reassembled bytes live in a buffer of the Decoder: seg.Payload stays
// valid only until the next Decode call (an ordinary packet's Payload
// points into the caller's data instead).
//
// Overlapping fragments that disagree are resolved like the BSD policy of
// target-based reassembly: for every byte, the fragment with the lowest
// offset wins, and of fragments with the same offset the one that arrived
// first. This is what Wireshark produces; Linux and RFC 5722 (IPv6) would
// drop such a datagram, Windows keeps the first arrival. Overlaps and
// disagreements are counted (Stats.FragOverlaps, FragConflicts).
//
// Limits (Config) bound the memory: datagrams pending, fragments per
// datagram, bytes held; and incomplete datagrams expire after FragTimeout of
// capture time. The capture clock only moves forward here: timestamps going
// backwards expire nothing.
type Decoder struct {
	cfg  Config
	st   Stats
	frag defrag
	cut  int // bytes of the current frame the capture cut (origLen - len(data))
	// chain is the encapsulation of the packet being decoded (see Tunnel).
	chain Chain
	named map[uint32]struct{} // hashes given to cfg.Names
	// noFast turns off fastEtherIPv4TCP (tests compare the two paths)
	noFast bool
}

// New returns a Decoder.
func New(cfg Config) *Decoder {
	if cfg.FragTimeout <= 0 {
		cfg.FragTimeout = DefaultFragTimeout
	}
	if cfg.FragMaxDatagrams <= 0 {
		cfg.FragMaxDatagrams = DefaultFragMaxDatagrams
	}
	if cfg.FragMaxFragments <= 0 {
		cfg.FragMaxFragments = DefaultFragMaxFragments
	}
	if cfg.FragMaxBytes <= 0 {
		cfg.FragMaxBytes = DefaultFragMaxBytes
	}
	d := &Decoder{cfg: cfg}
	d.frag.init(&d.cfg, &d.st)
	return d
}

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats { return d.st }

// Tunnel returns the encapsulation layers of the last packet decoded
// (outermost first; none for a packet that was not tunnelled). It is
// valid until the next Decode call. For a reassembled IP datagram the
// layers are those seen in the completing fragment.
func (d *Decoder) Tunnel() *Chain { return &d.chain }

// Decode decodes one captured frame of the given link type. data is what
// was captured, origLen the frame's length on the wire (values below
// len(data) are taken as len(data)), ts the capture time in Unix
// nanoseconds.
//
// On ResultTCP, seg is overwritten with the segment: addresses, ports,
// VLAN ids (outermost first), sequence numbers, flags, window, window scale
// (SYN only, else -1), urgent pointer, Payload (a subslice of data, or of
// the Decoder's reassembly buffer, see Decoder) and Truncated, the payload
// bytes the IP length announces but the capture cut (never more than
// origLen - len(data): an IP length beyond the frame's wire length is not
// believed, see Stats.ShortFrames). On other results seg holds nothing
// useful. The Reason is ReasonNone unless the result is
// ResultMalformed.
func (d *Decoder) Decode(link LinkType, data []byte, origLen int, ts int64, seg *reassembly.Segment) (Result, Reason) {
	d.st.Packets++
	cut := 0
	if origLen > len(data) {
		cut = origLen - len(data)
		d.st.SnapCutPackets++
		d.st.SnapCutBytes += uint64(cut)
	}
	d.cut = cut
	d.chain.N = 0
	if d.frag.pending > 0 {
		d.frag.expire(ts)
	}
	*seg = reassembly.Segment{TS: ts, WScale: -1}
	if link == LinkEthernet && cut == 0 && !d.cfg.VerifyChecksums && !d.noFast &&
		(d.fastEtherIPv4TCP(data, seg) || d.fastVXLAN(data, seg)) {
		return ResultTCP, ReasonNone
	}
	switch link {
	case LinkEthernet:
		if len(data) < 14 {
			return d.malformed(ReasonLinkTruncated)
		}
		return d.etherType(binary.BigEndian.Uint16(data[12:]), data[14:], cut, seg)
	case LinkLinuxSLL:
		if len(data) < 16 {
			return d.malformed(ReasonLinkTruncated)
		}
		return d.etherType(binary.BigEndian.Uint16(data[14:]), data[16:], cut, seg)
	case LinkLinuxSLL2:
		if len(data) < 20 {
			return d.malformed(ReasonLinkTruncated)
		}
		return d.etherType(binary.BigEndian.Uint16(data), data[20:], cut, seg)
	case LinkRaw, LinkRawDLT12, LinkRawDLT14:
		if len(data) == 0 {
			return d.malformed(ReasonIPTruncated)
		}
		switch data[0] >> 4 {
		case 4:
			return d.ipv4(data, cut, seg)
		case 6:
			return d.ipv6(data, cut, seg)
		}
		return d.malformed(ReasonIPVersion)
	case LinkIPv4:
		return d.ipv4(data, cut, seg)
	case LinkIPv6:
		return d.ipv6(data, cut, seg)
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return d.malformed(ReasonLinkTruncated)
		}
		// The family is in the capturing host's byte order (DLT_NULL) or
		// big-endian (DLT_LOOP, and some DLT_NULL writers): families are
		// small numbers, so a value with high bits set is byte-swapped.
		af := binary.LittleEndian.Uint32(data)
		if af&0xffff0000 != 0 {
			af = binary.BigEndian.Uint32(data)
		}
		switch af {
		case 2: // AF_INET
			return d.ipv4(data[4:], cut, seg)
		case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin
			return d.ipv6(data[4:], cut, seg)
		}
		return d.notIP()
	}
	return d.malformed(ReasonUnsupportedLink)
}

func (d *Decoder) malformed(r Reason) (Result, Reason) {
	d.st.Malformed++
	d.st.Reasons[r]++
	return ResultMalformed, r
}

func (d *Decoder) notTCP() (Result, Reason) {
	d.st.NotTCP++
	return ResultNotTCP, ReasonNone
}

func (d *Decoder) notIP() (Result, Reason) {
	d.st.NotIP++
	d.st.NotTCP++
	return ResultNotTCP, ReasonNone
}

// etherType dispatches on an Ethernet type, walking VLAN tags.
func (d *Decoder) etherType(et uint16, b []byte, cut int, seg *reassembly.Segment) (Result, Reason) {
	over := false
	for {
		switch et {
		case 0x0800:
			if over {
				d.st.VLANOverflow++
			}
			return d.ipv4(b, cut, seg)
		case 0x86dd:
			if over {
				d.st.VLANOverflow++
			}
			return d.ipv6(b, cut, seg)
		case 0x8847, 0x8848:
			return d.mpls(b, cut, seg)
		case 0x8864:
			return d.pppoe(b, cut, seg)
		case 0x8100, 0x88a8, 0x9100:
			if len(b) < 4 {
				return d.malformed(ReasonLinkTruncated)
			}
			if seg.VLANs.N == reassembly.MaxVLANs {
				over = true
			}
			seg.VLANs.Push(binary.BigEndian.Uint16(b))
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		default:
			return d.notIP()
		}
	}
}

// ipv4 decodes an IPv4 packet. b is the captured IP packet; cut is how
// many bytes of the frame the capture dropped at its end.
func (d *Decoder) ipv4(b []byte, cut int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 20 {
		return d.malformed(ReasonIPTruncated)
	}
	if b[0]>>4 != 4 {
		return d.malformed(ReasonIPVersion)
	}
	ihl := int(b[0]&0x0f) << 2
	if ihl < 20 {
		return d.malformed(ReasonBadIHL)
	}
	tot := int(binary.BigEndian.Uint16(b[2:]))
	if tot == 0 {
		// TSO/GSO: the stack had not split the segment yet and left the
		// length 0. The frame's own length is the only length there is.
		d.st.IPLenZero++
		tot = len(b) + cut
	}
	if tot < ihl {
		return d.malformed(ReasonBadIPLength)
	}
	if len(b) < ihl {
		return d.malformed(ReasonIPTruncated)
	}
	if len(b) > tot {
		b = b[:tot] // Ethernet padding, trailers
	}
	missing := tot - len(b)
	if d.cfg.VerifyChecksums && fold(sum(b[:ihl], 0)) != 0xffff {
		return d.malformed(ReasonIPChecksum)
	}
	if d.chain.N > 0 {
		// an inner header: forget what the outer one wrote
		seg.V6 = false
		clear(seg.Src[:10])
		clear(seg.Dst[:10])
	}
	seg.Src[10], seg.Src[11] = 0xff, 0xff
	seg.Dst[10], seg.Dst[11] = 0xff, 0xff
	copy(seg.Src[12:], b[12:16])
	copy(seg.Dst[12:], b[16:20])
	proto := b[9]
	if ff := binary.BigEndian.Uint16(b[6:]); ff&0x3fff != 0 {
		return d.fragment4(b, ihl, missing, ff, seg)
	}
	p := b[ihl:]
	if proto == 51 { // AH (RFC 4302): authenticated, not encrypted
		if len(p) < 2 {
			return d.truncOrBad(missing, ReasonExtHeader)
		}
		n := (int(p[1]) + 2) << 2
		if n < 12 || n > len(p)+missing {
			return d.malformed(ReasonExtHeader)
		}
		if n > len(p) {
			return d.malformed(ReasonIPTruncated)
		}
		proto, p = p[0], p[n:]
	}
	return d.ipPayload(proto, p, missing, seg)
}

// ipPayload decodes what an IP header carries: TCP, or a tunnel.
func (d *Decoder) ipPayload(proto byte, p []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	switch proto {
	case 6:
		return d.tcp(p, missing, seg)
	case 4, 41:
		return d.ipInIP(proto, p, missing, seg)
	case 47:
		return d.gre(p, missing, seg)
	case 17:
		return d.udp(p, missing, seg)
	}
	return d.notTCP()
}

// heldProto reports whether fragments of IP protocol p are reassembled:
// TCP, and what may carry a tunnel (IP in IP, GRE, UDP).
func heldProto(p byte) bool {
	switch p {
	case 6, 4, 41, 47, 17:
		return true
	}
	return false
}

// truncOrBad returns ReasonIPTruncated when the capture cut the packet
// (missing > 0), else r.
func (d *Decoder) truncOrBad(missing int, r Reason) (Result, Reason) {
	if missing > 0 {
		return d.malformed(ReasonIPTruncated)
	}
	return d.malformed(r)
}

func (d *Decoder) fragment4(b []byte, ihl, missing int, ff uint16, seg *reassembly.Segment) (Result, Reason) {
	d.st.Fragments++
	if !heldProto(b[9]) {
		return d.notTCP()
	}
	if missing > 0 {
		return d.malformed(ReasonFragTruncated)
	}
	k := fragKey{
		src:   seg.Src,
		dst:   seg.Dst,
		id:    uint32(binary.BigEndian.Uint16(b[4:])),
		proto: b[9],
		vlans: seg.VLANs,
	}
	// b may lie in the reassembly buffer (a fragment inside a reassembled
	// datagram), which completing this datagram overwrites: read first.
	proto := b[9]
	out, _, r := d.frag.add(&k, int(ff&0x1fff)<<3, ff&0x2000 != 0, b[ihl:], proto, seg.TS)
	if r != ReasonNone {
		return d.malformed(r)
	}
	if out == nil {
		d.st.Fragment++
		return ResultFragment, ReasonNone
	}
	return d.ipPayload(proto, out, 0, seg)
}

// ipv6 decodes an IPv6 packet (b as for ipv4).
func (d *Decoder) ipv6(b []byte, cut int, seg *reassembly.Segment) (Result, Reason) {
	if len(b) < 40 {
		return d.malformed(ReasonIPTruncated)
	}
	if b[0]>>4 != 6 {
		return d.malformed(ReasonIPVersion)
	}
	seg.V6 = true
	copy(seg.Src[:], b[8:24])
	copy(seg.Dst[:], b[24:40])
	plen := int(binary.BigEndian.Uint16(b[4:]))
	nh := b[6]
	off := 40
	tot := 40 + plen
	if nh == 0 {
		// Hop-by-hop options: only place a Jumbo Payload option may be.
		if len(b) < 42 {
			return d.malformed(ReasonIPTruncated)
		}
		n := (int(b[41]) + 1) << 3
		if 40+n > len(b) {
			if plen != 0 && 40+n > tot {
				return d.malformed(ReasonExtHeader)
			}
			return d.malformed(ReasonIPTruncated)
		}
		if j, ok := jumboLength(b[42 : 40+n]); ok {
			if plen != 0 || j < n {
				return d.malformed(ReasonBadJumbo)
			}
			d.st.Jumbograms++
			tot = 40 + j
		} else if plen == 0 {
			d.st.IPLenZero++
			tot = len(b) + cut
		}
		nh = b[40]
		off = 40 + n
	} else if plen == 0 && nh != 59 {
		// Payload length 0 without a Jumbo option: GSO packets as Linux
		// BIG TCP captures them without the hop-by-hop header.
		d.st.IPLenZero++
		tot = len(b) + cut
	}
	if tot < off {
		return d.malformed(ReasonExtHeader)
	}
	if len(b) > tot {
		b = b[:tot]
	}
	return d.ipv6Ext(nh, b, off, tot-len(b), true, seg)
}

// jumboLength finds a Jumbo Payload option (type 0xC2) in hop-by-hop
// options.
func jumboLength(opts []byte) (int, bool) {
	for i := 0; i < len(opts); {
		t := opts[i]
		if t == 0 { // Pad1
			i++
			continue
		}
		if i+2 > len(opts) {
			return 0, false
		}
		n := int(opts[i+1])
		if i+2+n > len(opts) {
			return 0, false
		}
		if t == 0xc2 && n == 4 {
			return int(binary.BigEndian.Uint32(opts[i+2:])), true
		}
		i += 2 + n
	}
	return 0, false
}

// ipv6Ext walks IPv6 extension headers from b[off:], where nh names the
// first. missing is how many bytes of b the capture cut.
func (d *Decoder) ipv6Ext(nh byte, b []byte, off, missing int, fragOK bool, seg *reassembly.Segment) (Result, Reason) {
	for {
		var n int
		switch nh {
		case 6:
			return d.tcp(b[off:], missing, seg)
		case 4, 41, 47, 17:
			return d.ipPayload(nh, b[off:], missing, seg)
		case 0, 43, 60: // hop-by-hop (tolerated anywhere), routing, destination options
			if off+2 > len(b) {
				return d.truncOrBad(missing, ReasonExtHeader)
			}
			n = (int(b[off+1]) + 1) << 3
		case 51: // AH
			if off+2 > len(b) {
				return d.truncOrBad(missing, ReasonExtHeader)
			}
			n = (int(b[off+1]) + 2) << 2
			if n < 12 {
				return d.malformed(ReasonExtHeader)
			}
		case 44: // fragment
			if off+8 > len(b) {
				return d.truncOrBad(missing, ReasonExtHeader)
			}
			fo := binary.BigEndian.Uint16(b[off+2:])
			if fo&0xfff9 != 0 {
				if !fragOK {
					return d.malformed(ReasonExtHeader)
				}
				return d.fragment6(b[off], b[off+8:], fo, binary.BigEndian.Uint32(b[off+4:]), missing, seg)
			}
			d.st.FragAtomic++ // offset 0, M 0: a whole datagram
			n = 8
		default: // 59 no next header, 17 UDP, 50 ESP, 58 ICMPv6, ...
			return d.notTCP()
		}
		if off+n > len(b) {
			if off+n > len(b)+missing {
				return d.malformed(ReasonExtHeader)
			}
			return d.malformed(ReasonIPTruncated)
		}
		nh = b[off]
		off += n
	}
}

func (d *Decoder) fragment6(nh byte, p []byte, fo uint16, id uint32, missing int, seg *reassembly.Segment) (Result, Reason) {
	d.st.Fragments++
	switch nh {
	case 6, 0, 43, 60, 51, 4, 41, 47, 17:
	default:
		return d.notTCP()
	}
	if missing > 0 {
		return d.malformed(ReasonFragTruncated)
	}
	k := fragKey{src: seg.Src, dst: seg.Dst, id: id, v6: true, vlans: seg.VLANs}
	out, nh, r := d.frag.add(&k, int(fo&^7), fo&1 != 0, p, nh, seg.TS)
	if r != ReasonNone {
		return d.malformed(r)
	}
	if out == nil {
		d.st.Fragment++
		return ResultFragment, ReasonNone
	}
	return d.ipv6Ext(nh, out, 0, 0, false, seg)
}

// tcp decodes a TCP segment. b holds the captured bytes of the segment (no
// more than the IP length gives), missing how many more the IP length
// announces.
func (d *Decoder) tcp(b []byte, missing int, seg *reassembly.Segment) (Result, Reason) {
	wire := len(b) + missing
	if len(b) < 20 {
		if wire < 20 {
			return d.malformed(ReasonTCPShort)
		}
		return d.malformed(ReasonTCPTruncated)
	}
	doff := int(b[12]>>4) << 2
	if doff < 20 || doff > wire {
		return d.malformed(ReasonBadDataOffset)
	}
	hdr := b
	if doff <= len(b) {
		hdr = b[:doff]
		seg.Payload = b[doff:]
		seg.Truncated = missing
	} else {
		// The capture cut into the options: the segment is still good for
		// its sequence numbers and flags; all of its payload is missing.
		d.st.TCPHeaderCut++
		seg.Truncated = wire - doff
	}
	if seg.Truncated > d.cut {
		// The IP length claims more than the frame had on the wire: only
		// what the capture cut is missing, the rest never existed.
		d.st.ShortFrames++
		seg.Truncated = d.cut
	}
	if d.cfg.VerifyChecksums {
		if missing == 0 {
			if !d.tcpChecksumOK(b, seg) {
				seg.Payload = nil
				seg.Truncated = 0
				return d.malformed(ReasonTCPChecksum)
			}
		} else {
			d.st.ChecksumsSkipped++
		}
	}
	tcpHeader(b, seg)
	if seg.Flags&reassembly.SYN != 0 && len(hdr) > 20 {
		ws, ok := windowScale(hdr[20:])
		seg.WScale = ws
		if !ok && len(hdr) == doff {
			d.st.BadTCPOptions++
		}
	}
	d.st.TCP++
	d.st.TruncatedBytes += uint64(seg.Truncated)
	if d.chain.N > 0 {
		d.st.Tunnelled++
		if d.cfg.TunnelKey {
			seg.Tunnel = d.chain.Hash()
			if d.cfg.Names != nil {
				d.noteName(seg.Tunnel)
			}
		}
	}
	return ResultTCP, ReasonNone
}

// tcpHeader copies the fixed TCP header fields of b (at least 20 bytes)
// into seg.
func tcpHeader(b []byte, seg *reassembly.Segment) {
	seg.SrcPort = binary.BigEndian.Uint16(b)
	seg.DstPort = binary.BigEndian.Uint16(b[2:])
	seg.Seq = reassembly.Seq(binary.BigEndian.Uint32(b[4:]))
	seg.Ack = reassembly.Seq(binary.BigEndian.Uint32(b[8:]))
	seg.Flags = reassembly.Flags(b[13]) | reassembly.Flags(b[12]&1)<<8
	seg.Window = binary.BigEndian.Uint16(b[14:])
	seg.Urgent = binary.BigEndian.Uint16(b[18:])
}

// windowScale walks TCP options for Window Scale (kind 3). Shifts above 14
// are taken as 14 (RFC 7323, 2.3). ok is false if an option ran past the
// end.
func windowScale(opts []byte) (ws int8, ok bool) {
	ws = -1
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0: // end of options
			return ws, true
		case 1: // no-op
			i++
			continue
		}
		if i+2 > len(opts) {
			return ws, false
		}
		n := int(opts[i+1])
		if n < 2 || i+n > len(opts) {
			return ws, false
		}
		if opts[i] == 3 && n == 3 && ws < 0 {
			ws = int8(min(opts[i+2], 14))
		}
		i += n
	}
	return ws, true
}

func (d *Decoder) tcpChecksumOK(b []byte, seg *reassembly.Segment) bool {
	// Pseudo-header: protocol and TCP length (32 bits on IPv6: the same
	// modulo 0xffff), then the addresses.
	s := 6 + uint64(len(b))
	if seg.V6 {
		s = sum(seg.Src[:], s)
		s = sum(seg.Dst[:], s)
	} else {
		s = sum(seg.Src[12:], s)
		s = sum(seg.Dst[12:], s)
	}
	return fold(sum(b, s)) == 0xffff
}
