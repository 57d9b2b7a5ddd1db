package pcapfile

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Bytes read ahead into one arena are moved into the next batch's arena
// even when that one is smaller than them (an arena sized for a small
// file, recycled for a big one): it is replaced by a large enough one.
func TestStreamedRestLargerThanNextArena(t *testing.T) {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, magicPcapMicro)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	const n = 200
	for i := range n {
		rec := make([]byte, 1000)
		rec[0] = byte(i)
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(rec)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(rec)))
		b = append(b, rec...)
	}
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := openSource(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	s := src.st
	s.avg = 100 << 10 // read far ahead: most of the file lands in rest
	big := make([]byte, 0, 1<<20)
	data, _, _, big, err := s.read(big, 1)
	if err != nil || data[0] != 0 {
		t.Fatalf("first record: %v", err)
	}
	if len(s.rest) < 50<<10 {
		t.Fatalf("only %d bytes read ahead", len(s.rest))
	}
	small := make([]byte, 0, 16400)
	for i := 1; i < n; i++ {
		var d []byte
		d, _, _, small, err = s.read(small[:0], 1)
		if err != nil || len(d) != 1000 || d[0] != byte(i) {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	_ = big
}
