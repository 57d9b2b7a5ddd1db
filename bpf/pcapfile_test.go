package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// Minimal classic pcap reader/writer for the tests (both byte orders,
// micro- and nanosecond magic). pcapng captures are not used.

type pcapRecord struct {
	Data    []byte
	WireLen int
}

type pcapFile struct {
	LinkType int
	Snaplen  int
	Records  []pcapRecord
}

func readPcap(path string) (*pcapFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%s: short pcap header", path)
	}
	var bo binary.ByteOrder
	switch {
	case bytes.Equal(b[:4], []byte{0xd4, 0xc3, 0xb2, 0xa1}), bytes.Equal(b[:4], []byte{0x4d, 0x3c, 0xb2, 0xa1}):
		bo = binary.LittleEndian
	case bytes.Equal(b[:4], []byte{0xa1, 0xb2, 0xc3, 0xd4}), bytes.Equal(b[:4], []byte{0xa1, 0xb2, 0x3c, 0x4d}):
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a classic pcap file", path)
	}
	f := &pcapFile{Snaplen: int(bo.Uint32(b[16:])), LinkType: int(bo.Uint32(b[20:]) & 0x0fffffff)}
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, fmt.Errorf("%s: truncated record header at %d", path, off)
		}
		incl, orig := int(bo.Uint32(b[off+8:])), int(bo.Uint32(b[off+12:]))
		off += 16
		if off+incl > len(b) {
			return nil, fmt.Errorf("%s: truncated record at %d", path, off)
		}
		f.Records = append(f.Records, pcapRecord{Data: b[off : off+incl], WireLen: orig})
		off += incl
	}
	return f, nil
}

// writePcapNumbered writes f with packet i stamped i seconds after the
// epoch, so that `tcpdump -tt` prints the packet's index.
func writePcapNumbered(path string, f *pcapFile) error {
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], uint32(max(f.Snaplen, 65535)))
	le.PutUint32(hdr[20:], uint32(f.LinkType))
	buf.Write(hdr)
	for i, r := range f.Records {
		rh := make([]byte, 16)
		le.PutUint32(rh[0:], uint32(i))
		le.PutUint32(rh[8:], uint32(len(r.Data)))
		le.PutUint32(rh[12:], uint32(r.WireLen))
		buf.Write(rh)
		buf.Write(r.Data)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
