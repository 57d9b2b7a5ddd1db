package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func line(i int) []byte { return []byte(fmt.Sprintf(`{"uid":"C%d","n":%d}`, i, i)) }

// readAll reads every flushed record from pos.
func readAll(t *testing.T, s *Spool, pos int64) []Record {
	t.Helper()
	r := s.NewReader(pos)
	defer r.Close()
	var out []Record
	for {
		rec, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		rec.ID = append([]byte(nil), rec.ID...)
		rec.Line = append([]byte(nil), rec.Line...)
		out = append(out, rec)
	}
}

func TestAppendReadCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, 256<<10); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
	const n = 5000 // several segments of 256 KiB
	for i := 0; i < n; i++ {
		if ok, err := s.Append(byte(i%2), []byte(fmt.Sprint("id", i)), line(i)); !ok || err != nil {
			t.Fatalf("append %d: %v %v", i, ok, err)
		}
		if i%100 == 99 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, s, s.Start())
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if r.Kind != byte(i%2) || string(r.ID) != fmt.Sprint("id", i) || string(r.Line) != string(line(i)) {
			t.Fatalf("record %d = %d %q %q", i, r.Kind, r.ID, r.Line)
		}
	}
	// commit the first 3000: a reopened spool starts at 3001
	s.Commit(recs[2999].End, 3000)
	st := s.Stats()
	if st.Records != n-3000 || st.Appended != n || st.Bytes != uint64(recs[n-1].End-recs[2999].End) {
		t.Fatalf("stats %+v", st)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	segs2, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs2) >= len(segs) || len(segs) < 3 {
		t.Errorf("segments %d then %d: committed segments were not removed", len(segs), len(segs2))
	}
	if st := s.Stats(); st.Inherited != n-3000 || st.Records != n-3000 {
		t.Fatalf("reopened stats %+v", st)
	}
	again := readAll(t, s, s.Start())
	if len(again) != n-3000 || string(again[0].Line) != string(line(3000)) || s.OpenEnd() != recs[n-1].End {
		t.Fatalf("reopened: %d records from %q", len(again), again[0].Line)
	}
	// appending goes on after the inherited records
	if ok, err := s.Append(0, []byte("x"), []byte("{}")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	s.Flush()
	if got := readAll(t, s, again[len(again)-1].End); len(got) != 1 || string(got[0].Line) != "{}" {
		t.Fatalf("after reopen: %v", got)
	}
}

func TestRewind(t *testing.T) {
	s, err := Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 10; i++ {
		s.Append(0, []byte("i"), line(i))
	}
	s.Flush()
	r := s.NewReader(s.Start())
	defer r.Close()
	var ends []int64
	for i := 0; i < 6; i++ {
		rec, ok, err := r.Next()
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		ends = append(ends, rec.End)
	}
	r.Rewind(ends[2])
	rec, ok, _ := r.Next()
	if !ok || string(rec.Line) != string(line(3)) {
		t.Fatalf("after rewind: %q", rec.Line)
	}
}

// A full spool drops every record from the first that does not fit until
// a commit frees space, and counts them exactly.
func TestFullDropsNewest(t *testing.T) {
	s, err := Open(t.TempDir(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kept, dropped := 0, 0
	for i := 0; i < 1000; i++ {
		l := line(i)
		if i%7 == 0 {
			l = l[:5] // small records must not slip in after a drop
		}
		ok, err := s.Append(0, []byte("id"), l)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if dropped > 0 {
				t.Fatalf("record %d kept after a drop", i)
			}
			kept++
		} else {
			dropped++
		}
	}
	s.Flush()
	st := s.Stats()
	if st.Dropped != uint64(dropped) || st.Records != uint64(kept) || st.Bytes > 4096 || kept == 0 || dropped == 0 {
		t.Fatalf("stats %+v, kept %d dropped %d", st, kept, dropped)
	}
	recs := readAll(t, s, s.Start())
	if len(recs) != kept {
		t.Fatalf("read %d, kept %d", len(recs), kept)
	}
	// a commit frees space: appends succeed again
	s.Commit(recs[len(recs)-1].End, int64(len(recs)))
	if ok, _ := s.Append(0, []byte("id"), line(1)); !ok {
		t.Fatal("append after the commit dropped")
	}
}

// A segment cut mid-record (a crash in a write) or with a corrupt record
// is cut back at its last whole record when opened.
func TestTornTail(t *testing.T) {
	for _, cut := range []struct {
		name string
		mod  func(b []byte) []byte
	}{
		{"cut", func(b []byte) []byte { return b[:len(b)-3] }},
		{"flipped", func(b []byte) []byte { b[len(b)-2] ^= 0xff; return b }},
		{"garbage", func(b []byte) []byte { return append(b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				s.Append(0, []byte("i"), line(i))
			}
			s.Close()
			seg := filepath.Join(dir, fmt.Sprintf("%016x.seg", 0))
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, cut.mod(b), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err = Open(dir, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := 9
			if cut.name == "garbage" {
				want = 10
			}
			if recs := readAll(t, s, s.Start()); len(recs) != want || s.Stats().Records != uint64(want) {
				t.Fatalf("%d records after reopening, want %d", len(recs), want)
			}
			s.Append(0, []byte("i"), []byte("{}"))
			s.Flush()
			recs := readAll(t, s, s.Start())
			if len(recs) != want+1 || string(recs[want].Line) != "{}" {
				t.Fatalf("append after the cut: %d records", len(recs))
			}
		})
	}
}

// FuzzOpen opens a spool whose segment holds arbitrary bytes: no panic,
// and every record read back passes its checksum.
func FuzzOpen(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{10, 0, 0, 0, 1, 2, 3, 4, 0, 1, 'x', '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x.seg", 0)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		recs := readAll(t, s, s.Start())
		if uint64(len(recs)) != s.Stats().Records {
			t.Fatalf("%d records read, %d counted", len(recs), s.Stats().Records)
		}
	})
}
