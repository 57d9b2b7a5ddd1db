package offline

import (
	"encoding/binary"
	"math/bits"

	"github.com/fastsniff/fastsniff/engine/decode"
)

// With replicated reading every worker walks every record, but a worker
// need not decode the packets of the other workers' flows. rawOwner
// finds the worker of the common frame — Ethernet, no VLAN tag, IPv4 or
// IPv6 carrying TCP directly, not a fragment — from header bytes at fixed
// offsets, before any decoding: it is reassembly.FlowHash of the segment
// the decoder would make of the frame (no VLANs, no tunnel), computed on
// the raw addresses and ports. A frame it does not recognise is decoded
// by every worker as before. Only the owner decodes a recognised frame, so
// its decoder counts are counted once (replicated.go sums them).

// rawOwner returns the worker (of n) that owns frame, and false when the
// frame is not one it recognises.
func rawOwner(link decode.LinkType, frame []byte, n int) (int, bool) {
	if link != decode.LinkEthernet || len(frame) < 14+20+4 {
		return 0, false
	}
	var a, b uint64 // FlowHash's XOR of the addresses' two 8-byte halves
	var ports []byte
	be, le := binary.BigEndian, binary.LittleEndian
	if len(frame) >= 14+20+4 && be.Uint32(frame[12:16])>>8 == 0x080045 &&
		be.Uint32(frame[20:24])&0x3fff00ff == 6 {
		// the most common frame of all, in four loads: IPv4 without
		// options, TCP, not a fragment (the general case below is 90
		// instructions a frame, and every worker runs it on every frame)
		b = uint64(le.Uint32(frame[26:30])^le.Uint32(frame[30:34])) << 32
		pp := be.Uint32(frame[34:38])
		sp, dp := uint64(pp>>16), uint64(pp&0xffff)
		return finishOwner(0, b, sp, dp, n), true
	}
	switch be.Uint16(frame[12:]) {
	case 0x0800:
		ip := frame[14:]
		ihl := int(ip[0]&0x0f) << 2
		// version 4, TCP, not a fragment (MF and offset 0), ports captured
		if ip[0]>>4 != 4 || ip[9] != 6 || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 || ihl < 20 || len(ip) < ihl+4 {
			return 0, false
		}
		// IPv4-mapped: the ::ffff: prefixes cancel in the XOR, the
		// addresses are the upper half of the second word
		b = uint64(binary.LittleEndian.Uint32(ip[12:])^binary.LittleEndian.Uint32(ip[16:])) << 32
		ports = ip[ihl:]
	case 0x86dd:
		ip := frame[14:]
		if len(ip) < 40+4 || ip[0]>>4 != 6 || ip[6] != 6 {
			return 0, false
		}
		a = binary.LittleEndian.Uint64(ip[8:]) ^ binary.LittleEndian.Uint64(ip[24:])
		b = binary.LittleEndian.Uint64(ip[16:]) ^ binary.LittleEndian.Uint64(ip[32:])
		ports = ip[40:]
	default:
		return 0, false
	}
	sp, dp := uint64(be.Uint16(ports)), uint64(be.Uint16(ports[2:]))
	return finishOwner(a, b, sp, dp, n), true
}

// finishOwner is FlowHash's mixing of the XORed addresses a, b and the
// ports, reduced to a worker of n.
func finishOwner(a, b, sp, dp uint64, n int) int {
	p := (sp ^ dp) | (sp+dp)<<16
	h := a ^ bits.RotateLeft64(b, 29) ^ p*0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	if n&(n-1) == 0 {
		// the same as h % n for a power of two, without a division's
		// latency on every frame of the capture
		return int(h & uint64(n-1))
	}
	return int(h % uint64(n))
}
