package pcapfile

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"golang.org/x/sys/unix"
)

// mapped reads an uncompressed classic pcap file through a memory
// mapping: a packet's Data points straight into the mapping, so reading
// copies nothing at all. The mapping stays until the Reader is closed (not
// when the file is done), because the packets of its last batches may
// still be in use by then.
type mapped struct {
	m     []byte
	pos   int
	order binary.ByteOrder
	nano  bool
	max   int // longest record taken (as pcapgo: the snap length, at least 256 KiB)
	kept  bool
	ahead int // end of the window already faulted in
}

// window is how much of the file is faulted in at once ahead of the
// reader: one madvise per window instead of a page fault per 4 KiB page
// (a third of the reading cost otherwise), without pulling a file larger
// than memory in whole.
const window = 16 << 20

func (mp *mapped) prefetch(p int) {
	if p+window/2 < mp.ahead || mp.ahead >= len(mp.m) {
		return
	}
	start := mp.ahead &^ 4095
	end := min(len(mp.m), max(mp.ahead, p)+window)
	if err := unix.Madvise(mp.m[start:end], unix.MADV_POPULATE_READ); err != nil {
		// older kernels: the page faults will do it
		mp.ahead = len(mp.m)
		return
	}
	mp.ahead = end
}

// mapPcap maps f when it is a regular, uncompressed pcap file; nil when
// it cannot be mapped (the caller falls back to reading).
func mapPcap(f *os.File, magic uint32, snaplen uint32) *mapped {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < 24 || st.Size() > 1<<46 {
		return nil
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(m, unix.MADV_SEQUENTIAL)
	mp := &mapped{m: m, pos: 24, max: 262144}
	if int(snaplen) > mp.max {
		mp.max = int(snaplen)
	}
	switch magic {
	case magicPcapMicro, magicPcapNano:
		mp.order = binary.LittleEndian
	default:
		mp.order = binary.BigEndian
	}
	mp.nano = magic == magicPcapNano || magic == magicPcapNanoBE
	return mp
}

// read returns the next record, with the same errors as pcapgo's reader:
// io.EOF at a clean end, io.ErrUnexpectedEOF (with a non-zero capture
// length) when the file ends inside a record.
func (mp *mapped) read() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	m, p := mp.m, mp.pos
	mp.prefetch(p)
	if p == len(m) {
		return nil, ci, io.EOF
	}
	if len(m)-p < 16 {
		mp.pos = len(m)
		ci.CaptureLength = len(m) - p
		return nil, ci, io.ErrUnexpectedEOF
	}
	sec := mp.order.Uint32(m[p:])
	frac := mp.order.Uint32(m[p+4:])
	ci.CaptureLength = int(mp.order.Uint32(m[p+8:]))
	ci.Length = int(mp.order.Uint32(m[p+12:]))
	if ci.CaptureLength > mp.max {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, mp.max)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	if len(m)-p-16 < ci.CaptureLength {
		mp.pos = len(m)
		return nil, ci, io.ErrUnexpectedEOF
	}
	nsec := int64(frac)
	if !mp.nano {
		nsec *= 1000
	}
	ci.Timestamp = time.Unix(int64(sec), nsec)
	end := p + 16 + ci.CaptureLength
	mp.pos = end
	mp.kept = true
	return m[p+16 : end : end], ci, nil
}
