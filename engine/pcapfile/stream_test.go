package pcapfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/engine/pcapfile"
)

// records returns n records of pseudo-random sizes (mostly small, some
// up to max bytes), each filled with its index, so a record read from the
// wrong place or overwritten later is seen.
func records(seed uint64, n, max int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	recs := make([][]byte, n)
	for i := range recs {
		size := 1 + rng.IntN(1600)
		if rng.IntN(20) == 0 {
			size = 1 + rng.IntN(max)
		}
		recs[i] = bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size)[:size]
	}
	return recs
}

// The streamed reader reads records that straddle its reads, records
// larger than its arena, and keeps every batch's packets intact in the
// caller's arenas (ReadBatchInto) whatever their size, including arenas
// too small for one record.
func TestStreamedAcrossReadsAndArenas(t *testing.T) {
	recs := records(1, 600, 262144)
	f := filepath.Join(t.TempDir(), "sizes.pcap")
	if err := os.WriteFile(f, pcapBytes(binary.LittleEndian, true, 262144, 1, recs...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		batch int
		arena func() []byte // nil: ReadBatch and the Reader's own arena
	}{
		{"ReadBatch/1", 1, nil},
		{"ReadBatch/7", 7, nil},
		{"ReadBatch/512", 512, nil},
		{"Into/nil", 64, func() []byte { return nil }},
		{"Into/100B", 64, func() []byte { return make([]byte, 0, 100) }},
		{"Into/300KiB", 4096, func() []byte { return make([]byte, 0, 300<<10) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := pcapfile.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b := make([]pcapfile.Packet, c.batch)
			var kept [][]byte
			i := 0
			for {
				var n int
				var err error
				if c.arena == nil {
					n, err = r.ReadBatch(b)
				} else {
					n, _, err = r.ReadBatchInto(b, c.arena())
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatal("empty batch without an error")
				}
				for _, p := range b[:n] {
					if i >= len(recs) || !bytes.Equal(p.Data, recs[i]) || p.OrigLen != len(recs[i])+10 {
						t.Fatalf("packet %d differs (%d bytes)", i, len(p.Data))
					}
					if c.arena != nil {
						kept = append(kept, p.Data)
					}
					i++
				}
			}
			if i != len(recs) {
				t.Fatalf("%d packets, want %d", i, len(recs))
			}
			for j, d := range kept {
				if !bytes.Equal(d, recs[j]) {
					t.Fatalf("packet %d was overwritten by a later batch", j)
				}
			}
		})
	}
}

// A cut at every byte of the last records gives the packets before the
// cut and one truncation error, never a garbage packet.
func TestStreamedCutAnywhere(t *testing.T) {
	recs := records(2, 40, 5000)
	whole := pcapBytes(binary.BigEndian, false, 65535, 1, recs...)
	tmp := t.TempDir()
	ends := []int{24}
	for _, r := range recs {
		ends = append(ends, ends[len(ends)-1]+16+len(r))
	}
	for cut := ends[35]; cut <= len(whole); cut += 7 {
		f := filepath.Join(tmp, "cut.pcap")
		os.WriteFile(f, whole[:cut], 0o644)
		r, err := pcapfile.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]pcapfile.Packet, 16)
		n, terr := 0, error(nil)
		for {
			m, err := r.ReadBatch(b)
			if err == io.EOF {
				break
			}
			if err != nil {
				terr = err
				continue
			}
			for _, p := range b[:m] {
				if !bytes.Equal(p.Data, recs[n]) {
					t.Fatalf("cut %d: packet %d differs", cut, n)
				}
				n++
			}
		}
		r.Close()
		complete := 0
		for complete < len(recs) && ends[complete+1] <= cut {
			complete++
		}
		if n != complete {
			t.Fatalf("cut %d: %d packets, want %d", cut, n, complete)
		}
		if atRecord := ends[complete] == cut; atRecord != (terr == nil) || (terr != nil && !errors.Is(terr, pcapfile.ErrTruncated)) {
			t.Fatalf("cut %d: error %v", cut, terr)
		}
	}
}

// FuzzReader: any bytes as a capture file give packets or a clear error,
// never a panic or a hang; for classic pcap the packets before the first
// error are exactly pcapgo's.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"sniffer-03-keepalive.pcap", "td-mptcp-v1-sll.pcap", "zk-ldap-gap-126idb.pcapng"} {
		b, err := os.ReadFile(dir + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4000)])
	}
	f.Add(pcapBytes(binary.LittleEndian, true, 0xffffffff, 1, []byte("x"), make([]byte, 300)))
	f.Add(pcapBytes(binary.BigEndian, true, 65535, 1, []byte("big"), make([]byte, 70)))
	f.Add(pcapBytes(binary.BigEndian, false, 65535, 101, []byte("big-micro"), make([]byte, 40)))
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(tmp, "fuzz.pcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, meta, ok := fuzzRead(t, path, len(data))
		if !ok {
			return
		}
		// the same bytes through a pipe, read once as they come (not in
		// place): the same packets
		pipe, err := fuzzPipe(t, data)
		if err != nil {
			t.Fatal(err)
		}
		pgot, pmeta, pok := fuzzRead(t, pipe, len(data))
		if !pok || len(pgot) != len(got) {
			t.Fatalf("through a pipe: opened %v, %d packets; from the file %d", pok, len(pgot), len(got))
		}
		for i := range got {
			// the pipe is read by pcapgo, which wraps a microsecond field
			// of 2^32/1000 or more (below)
			if d := meta[i][0] - pmeta[i][0]; !bytes.Equal(got[i], pgot[i]) || meta[i][1] != pmeta[i][1] || d != 0 && (d < 0 || d%(1<<32) != 0) {
				t.Fatalf("packet %d through a pipe: %d bytes, time and length %v; from the file %d bytes, %v", i, len(pgot[i]), pmeta[i], len(got[i]), meta[i])
			}
		}
		pr, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil || pr.Snaplen() > 1<<20 {
			// pcapng: read above without a panic is the test; and pcapgo
			// allocates what a record claims, up to the snap length
			return
		}
		for i := 0; ; i++ {
			d, ci, err := pr.ReadPacketData()
			if err != nil {
				if i < len(got) {
					t.Fatalf("pcapfile read %d packets, pcapgo %d", len(got), i)
				}
				return
			}
			if i >= len(got) || !bytes.Equal(d, got[i]) {
				if i >= len(got) {
					// pcapgo takes records longer than 256 KiB under a
					// larger snap length; so does pcapfile: a shorter
					// result is a bug.
					t.Fatalf("pcapfile stopped at %d packets, pcapgo goes on", len(got))
				}
				t.Fatalf("packet %d differs from pcapgo", i)
			}
			want := [2]int64{ci.Timestamp.UnixNano(), int64(max(ci.Length, len(d)))}
			if diff := meta[i][0] - want[0]; diff > 0 && diff%(1<<32) == 0 && diff < 1000<<32 {
				// A microsecond field of 2^32/1000 or more (invalid: it
				// should be below 10^6): pcapgo multiplies it by 1000 in
				// 32 bits and wraps; pcapfile takes it as that many µs.
				want[0] = meta[i][0]
			}
			if meta[i] != want {
				t.Fatalf("packet %d: time and length %v, pcapgo %v", i, meta[i], want)
			}
		}
	})
}

// fuzzRead reads every packet of path (a file of size bytes): their data,
// and their times and wire lengths; ok is false when Open refused it.
func fuzzRead(t *testing.T, path string, size int) (got [][]byte, meta [][2]int64, ok bool) {
	r, err := pcapfile.Open(path)
	if err != nil {
		return nil, nil, false
	}
	defer r.Close()
	b := make([]pcapfile.Packet, 5)
	for range size + 2 { // a batch takes at least one record or ends the file
		n, err := r.ReadBatch(b)
		if err != nil {
			break
		}
		for _, p := range b[:n] {
			got = append(got, append([]byte(nil), p.Data...))
			meta = append(meta, [2]int64{p.TS, int64(p.OrigLen)})
		}
	}
	return got, meta, true
}

// fuzzPipe returns the path of a pipe that carries data (its writer
// closes it after).
func fuzzPipe(t *testing.T, data []byte) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { r.Close() })
	go func() {
		w.Write(data)
		w.Close()
	}()
	return fmt.Sprintf("/dev/fd/%d", r.Fd()), nil
}
