package pcapfile

import (
	"bytes"
	"io"
	"testing"
)

// The offline pipeline hands a batch's packets to other goroutines while
// it reads the next ones: with ReadBatchInto and an arena per batch, every
// packet must stay intact until Close — across batches and across files,
// whether the file is read in place (plain pcap) or copied (pcapng, gzip).
func TestReadBatchIntoKeepsPackets(t *testing.T) {
	files := []string{
		"../../testdata/decode/sv-http-gap-body-null.pcap",
		"../../testdata/decode/zk-ldap-gap-126idb.pcapng",
		"../../testdata/decode/sniffer-03-keepalive.pcap",
	}
	read := func(r *Reader, keep bool) [][]byte {
		var out [][]byte
		batch := make([]Packet, 3)
		for {
			var arena []byte
			n, a, err := r.ReadBatchInto(batch, arena)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = a // each batch gets a fresh arena: nothing is reused
			for _, p := range batch[:n] {
				if keep {
					out = append(out, p.Data)
				} else {
					out = append(out, append([]byte(nil), p.Data...))
				}
			}
		}
		return out
	}
	r1, err := Open(files...)
	if err != nil {
		t.Fatal(err)
	}
	kept := read(r1, true)
	r2, err := Open(files...)
	if err != nil {
		t.Fatal(err)
	}
	copied := read(r2, false)
	r2.Close()
	if len(kept) != len(copied) || len(kept) < 40 {
		t.Fatalf("%d vs %d packets", len(kept), len(copied))
	}
	for i := range kept {
		if !bytes.Equal(kept[i], copied[i]) {
			t.Fatalf("packet %d changed after later reads", i)
		}
	}
	r1.Close()
}

// A plain pcap file is read in place into the batch's arena: one copy,
// from the file into the arena, and the packets are the records there.
func TestPlainPcapIsReadInPlace(t *testing.T) {
	r, err := Open("../../testdata/decode/sniffer-03-keepalive.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch := make([]Packet, 4)
	n, err := r.ReadBatch(batch)
	if err != nil || n != 4 {
		t.Fatal(n, err)
	}
	if r.cur == nil || r.cur.st == nil {
		t.Fatal("a plain pcap file was not read by the streamed reader")
	}
	// The arena holds the records (16-byte headers then the data) back
	// to back, and each packet's Data is its record's data.
	at := 0
	for i, p := range batch[:n] {
		at += 16
		if &r.arena[at] != &p.Data[0] {
			t.Fatalf("packet %d is not in place in the arena", i)
		}
		at += len(p.Data)
	}
	if len(r.arena) != at {
		t.Errorf("arena holds %d bytes, the records %d", len(r.arena), at)
	}
}
