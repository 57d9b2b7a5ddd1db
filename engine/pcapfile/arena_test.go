package pcapfile

import (
	"bytes"
	"io"
	"testing"
)

// The offline pipeline hands a batch's packets to other goroutines while
// it reads the next ones: with ReadBatchInto and an arena per batch, every
// packet must stay intact until Close — across batches and across files,
// whether the file is mapped (plain pcap) or read (pcapng, gzip).
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

func TestPlainPcapIsMapped(t *testing.T) {
	r, err := Open("../../testdata/decode/sniffer-03-keepalive.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch := make([]Packet, 4)
	if _, err := r.ReadBatch(batch); err != nil {
		t.Fatal(err)
	}
	if r.cur == nil || r.cur.mm == nil {
		t.Fatal("a plain pcap file was not memory-mapped")
	}
	if len(r.arena) != 0 {
		t.Errorf("mapped packets were copied into the arena (%d bytes)", len(r.arena))
	}
}
