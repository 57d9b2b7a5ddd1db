package afpacket

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tpacket3_hdr offsets
const (
	fhNextOffset = 0
	fhSec        = 4
	fhNsec       = 8
	fhSnaplen    = 12
	fhLen        = 16
	fhStatus     = 20
	fhMac        = 24
	fhRxhash     = 28
	fhVLANTCI    = 32
	fhVLANTPID   = 36
	fhLenHdr     = unix.SizeofTpacket3Hdr
)

// Block is one ring block handed to userspace: a sequence of frames.
type Block struct {
	buf   []byte
	n     int // frames announced
	i     int // frames returned
	off   int // offset of the next frame
	first int64
	last  int64
}

// ParseBlock interprets buf as a TPACKET_V3 block (struct
// tpacket_block_desc, then the frames). Ring.Next uses it on the ring;
// tests and tools may use it on blocks built in memory.
func ParseBlock(buf []byte) Block {
	if len(buf) < bdHeaderLen {
		return Block{}
	}
	ne := binary.NativeEndian
	b := Block{
		buf: buf,
		n:   int(ne.Uint32(buf[bdNumPkts:])),
		off: int(ne.Uint32(buf[bdFirstPkt:])),
	}
	b.first = int64(ne.Uint32(buf[bdTSFirstSec:]))*1e9 + int64(ne.Uint32(buf[bdTSFirstNs:]))
	b.last = int64(ne.Uint32(buf[bdTSLastSec:]))*1e9 + int64(ne.Uint32(buf[bdTSLastNsec:]))
	return b
}

// NumPackets returns the number of frames the block holds.
func (b *Block) NumPackets() int { return b.n }

// FirstTS returns the block header's ts_first_pkt (Unix ns): the kernel
// sets it when it opens the block, so it is at or before the block's first
// frame; a block opened after an instant holds only later frames.
func (b *Block) FirstTS() int64 { return b.first }

// LastTS returns the timestamp (Unix ns) of the block's last frame, as the
// kernel recorded it in the block header.
func (b *Block) LastTS() int64 { return b.last }

// Frame is one captured packet in a block.
type Frame struct {
	// Data is the captured bytes (tp_snaplen of them from tp_mac). It
	// points into the ring: valid until the block is released.
	Data []byte
	// Len is the packet's length on the wire (tp_len), without a VLAN
	// tag the kernel moved out of the packet.
	Len int
	// TS is the capture time in Unix nanoseconds.
	TS int64
	// Status is tp_status (TP_STATUS_* bits).
	Status uint32
	// VLANTCI and VLANTPID are the tag the kernel (or the NIC) stripped
	// from the packet, when Status has TP_STATUS_VLAN_VALID.
	VLANTCI  uint16
	VLANTPID uint16
	// RxHash is the kernel's flow hash of the packet (tp_rxhash; 0 unless
	// the kernel computed one).
	RxHash uint32
}

// VLAN returns the stripped tag, if there is one. A missing TPID (old
// kernels) is taken as 802.1Q.
func (f *Frame) VLAN() (tci, tpid uint16, ok bool) {
	if f.Status&unix.TP_STATUS_VLAN_VALID == 0 {
		return 0, 0, false
	}
	tpid = f.VLANTPID
	if f.Status&unix.TP_STATUS_VLAN_TPID_VALID == 0 || tpid == 0 {
		tpid = 0x8100
	}
	return f.VLANTCI, tpid, true
}

// ChecksumNotReady reports TP_STATUS_CSUMNOTREADY: an outgoing packet whose
// checksum the NIC will fill in (its checksum field is meaningless here).
func (f *Frame) ChecksumNotReady() bool { return f.Status&unix.TP_STATUS_CSUMNOTREADY != 0 }

// Cut reports TP_STATUS_COPY: the packet did not fit in a block and was
// cut to what did.
func (f *Frame) Cut() bool { return f.Status&unix.TP_STATUS_COPY != 0 }

// Next fills f with the next frame and reports whether there was one. A
// frame whose header lies outside the block ends the walk.
func (b *Block) Next(f *Frame) bool {
	if b.i >= b.n {
		return false
	}
	off := b.off
	if off < bdHeaderLen || off > len(b.buf)-fhLenHdr {
		b.i = b.n
		return false
	}
	h := b.buf[off : off+fhLenHdr]
	ne := binary.NativeEndian
	snap := int(ne.Uint32(h[fhSnaplen:]))
	mac := int(ne.Uint16(h[fhMac:]))
	start := off + mac
	if start > len(b.buf) || snap > len(b.buf)-start {
		b.i = b.n
		return false
	}
	f.Data = b.buf[start : start+snap : start+snap]
	f.Len = int(ne.Uint32(h[fhLen:]))
	f.TS = int64(ne.Uint32(h[fhSec:]))*1e9 + int64(ne.Uint32(h[fhNsec:]))
	f.Status = ne.Uint32(h[fhStatus:])
	f.RxHash = ne.Uint32(h[fhRxhash:])
	f.VLANTCI = uint16(ne.Uint32(h[fhVLANTCI:]))
	f.VLANTPID = ne.Uint16(h[fhVLANTPID:])
	b.i++
	next := int(ne.Uint32(h[fhNextOffset:]))
	if next == 0 {
		b.i = b.n
	}
	b.off = off + next
	if next > 0 && b.off < len(b.buf) {
		// The kernel wrote the next frame on another CPU: its first
		// touch was most of the walk's cost (a cache miss per frame).
		// Fetch it while the caller decodes and feeds this one.
		prefetchFrame(unsafe.Pointer(&b.buf[b.off]))
	}
	return true
}

// BlockBuilder writes TPACKET_V3 blocks in memory, laid out as the kernel
// lays them out: for tests and benchmarks of code that walks blocks.
type BlockBuilder struct {
	buf  []byte
	n    int
	prev int // offset of the last frame, -1 when empty
	end  int // offset of the next frame
	last int64
}

// NewBlockBuilder starts a block of size bytes.
func NewBlockBuilder(size int) *BlockBuilder {
	bb := &BlockBuilder{buf: make([]byte, size)}
	bb.Reset()
	return bb
}

// Reset empties the block.
func (bb *BlockBuilder) Reset() {
	clear(bb.buf)
	bb.n, bb.prev, bb.end, bb.last = 0, -1, bdHeaderLen, 0
	ne := binary.NativeEndian
	ne.PutUint32(bb.buf[bdFirstPkt:], bdHeaderLen)
	ne.PutUint32(bb.buf[bdStatus:], unix.TP_STATUS_USER)
}

// builderMac is the tp_mac the builder uses: the frame header, then 2
// bytes of padding (the kernel aligns the network header).
const builderMac = fhLenHdr + 2

// Add appends a frame (Data, Len, TS, Status, VLAN fields, RxHash); it
// reports false when the block is full.
func (bb *BlockBuilder) Add(f Frame) bool {
	ne := binary.NativeEndian
	off := bb.end
	size := (builderMac + len(f.Data) + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	if off+size > len(bb.buf) {
		return false
	}
	h := bb.buf[off:]
	ne.PutUint32(h[fhNextOffset:], 0) // the last frame's is 0
	ne.PutUint32(h[fhSec:], uint32(f.TS/1e9))
	ne.PutUint32(h[fhNsec:], uint32(f.TS%1e9))
	ne.PutUint32(h[fhSnaplen:], uint32(len(f.Data)))
	l := max(f.Len, len(f.Data))
	ne.PutUint32(h[fhLen:], uint32(l))
	ne.PutUint32(h[fhStatus:], f.Status)
	ne.PutUint16(h[fhMac:], builderMac)
	ne.PutUint32(h[fhRxhash:], f.RxHash)
	ne.PutUint32(h[fhVLANTCI:], uint32(f.VLANTCI))
	ne.PutUint16(h[fhVLANTPID:], f.VLANTPID)
	copy(h[builderMac:], f.Data)
	if bb.prev >= 0 {
		ne.PutUint32(bb.buf[bb.prev+fhNextOffset:], uint32(off-bb.prev))
	}
	bb.prev = off
	bb.end = off + size
	bb.n++
	if bb.n == 1 {
		ne.PutUint32(bb.buf[bdTSFirstSec:], uint32(f.TS/1e9))
		ne.PutUint32(bb.buf[bdTSFirstNs:], uint32(f.TS%1e9))
	}
	bb.last = max(bb.last, f.TS)
	ne.PutUint32(bb.buf[bdNumPkts:], uint32(bb.n))
	ne.PutUint32(bb.buf[bdBlkLen:], uint32(bb.end))
	ne.PutUint32(bb.buf[bdTSLastSec:], uint32(bb.last/1e9))
	ne.PutUint32(bb.buf[bdTSLastNsec:], uint32(bb.last%1e9))
	return true
}

// Bytes returns the block (shared with the builder).
func (bb *BlockBuilder) Bytes() []byte { return bb.buf }

// Len returns the number of frames added.
func (bb *BlockBuilder) Len() int { return bb.n }
