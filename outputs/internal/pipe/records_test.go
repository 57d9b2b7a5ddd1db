package pipe

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecords(t *testing.T) {
	type rec struct {
		op      byte
		id, arg uint64
		p       string
	}
	tests := []struct {
		name string
		recs []rec
	}{
		{"empty", nil},
		{"one empty payload", []rec{{1, 2, 3, ""}}},
		{"several", []rec{{1, 1 << 40, 0, "name.c2s"}, {2, 1 << 40, 1<<63 + 5, "bytes"}, {3, ^uint64(0), 7, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			for _, r := range tt.recs {
				b = AppendHeader(b, r.op, r.id, r.arg, len(r.p))
				b = append(b, r.p...)
			}
			if want := len(tt.recs)*HdrLen + func() (n int) {
				for _, r := range tt.recs {
					n += len(r.p)
				}
				return
			}(); len(b) != want {
				t.Fatalf("%d bytes, want %d", len(b), want)
			}
			for i, r := range tt.recs {
				op, id, arg, p, rest, ok := NextRecord(b)
				if !ok || op != r.op || id != r.id || arg != r.arg || string(p) != r.p {
					t.Fatalf("record %d = %d %d %d %q %v, want %v", i, op, id, arg, p, ok, r)
				}
				b = rest
			}
			if len(b) != 0 {
				t.Errorf("%d bytes left", len(b))
			}
		})
	}
}

func TestSetLen(t *testing.T) {
	b := AppendHeader([]byte("x"), 9, 1, 2, 0)
	b = append(b, "payload"...)
	SetLen(b[1:], len(b)-1-HdrLen)
	op, id, arg, p, rest, ok := NextRecord(b[1:])
	if !ok || op != 9 || id != 1 || arg != 2 || string(p) != "payload" || len(rest) != 0 {
		t.Errorf("NextRecord = %d %d %d %q %q %v", op, id, arg, p, rest, ok)
	}
}

func TestNextRecordShort(t *testing.T) {
	whole := append(AppendHeader(nil, 1, 2, 3, 4), "abcd"...)
	for _, n := range []int{1, HdrLen - 1, HdrLen, len(whole) - 1} {
		if _, _, _, _, rest, ok := NextRecord(whole[:n]); ok || !bytes.Equal(rest, whole[:n]) {
			t.Errorf("NextRecord of %d of %d bytes: ok %v", n, len(whole), ok)
		}
	}
}

func TestHandlers(t *testing.T) {
	var got []byte
	p := New(Config{Size: 64}, func(b []byte) error { got = append(got, b...); return nil }, nil)
	type handler struct {
		n   int
		buf []byte
	}
	var r Handlers[*handler]
	for i := range 3 {
		h := r.Add(nil, func(n int) *handler { return &handler{n: n, buf: p.Get()} })
		if h.n != i {
			t.Errorf("handler %d got n = %d", i, h.n)
		}
		h.buf = append(h.buf, byte('a'+i))
	}
	if hs := r.All(); len(hs) != 3 || hs[2].n != 2 {
		t.Fatalf("All = %v", hs)
	}
	drained := 0
	drain := func(h *handler) { drained++; h.buf = p.Put(h.buf) }
	if err := r.Close(p, drain); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(p, drain); err != nil || drained != 3 {
		t.Errorf("second Close = %v, drained %d times, want 3", err, drained)
	}
	if string(got) != "abc" {
		t.Errorf("written %q, want abc", got)
	}
	errClosed := errors.New("closed")
	defer func() {
		if v := recover(); v != errClosed {
			t.Errorf("Add after Close panicked with %v", v)
		}
	}()
	r.Add(errClosed, func(int) *handler { return nil })
}
