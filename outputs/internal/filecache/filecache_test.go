package filecache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// op is one step of a test: w writes data at off, e extends to off, c
// closes, o opens, f flushes, d discards the pending write.
type op struct {
	kind byte
	file int
	off  int64
	data string
}

func TestCache(t *testing.T) {
	tests := []struct {
		name     string
		maxOpen  int
		pre      map[int]string // existing contents, truncated on creation
		ops      []op
		want     map[int]string // file contents (absent: no file)
		open     int            // NumOpen at the end
		created  uint64
		reopens  uint64
		writes   uint64
		written  uint64
		sizeWant map[int]int64
	}{
		{
			name:    "coalesced",
			maxOpen: 4,
			ops:     []op{{'w', 0, 0, "ab"}, {'w', 0, 2, "cd"}, {'w', 0, 4, "e"}, {'f', 0, 0, ""}},
			want:    map[int]string{0: "abcde"},
			open:    1, created: 1, writes: 1, written: 5,
			sizeWant: map[int]int64{0: 5},
		},
		{
			name:    "hole between writes",
			maxOpen: 4,
			ops:     []op{{'w', 0, 0, "ab"}, {'w', 0, 5, "xy"}, {'f', 0, 0, ""}},
			want:    map[int]string{0: "ab\x00\x00\x00xy"},
			open:    1, created: 1, writes: 2, written: 4,
		},
		{
			name:    "out of order",
			maxOpen: 4,
			ops:     []op{{'w', 0, 3, "def"}, {'w', 0, 0, "abc"}, {'c', 0, 0, ""}},
			want:    map[int]string{0: "abcdef"},
			open:    0, created: 1, writes: 2, written: 6,
		},
		{
			name:    "extend leaves a trailing hole",
			maxOpen: 4,
			ops:     []op{{'w', 0, 0, "ab"}, {'e', 0, 4, ""}, {'c', 0, 0, ""}},
			want:    map[int]string{0: "ab\x00\x00"},
			open:    0, created: 1, writes: 1, written: 2,
			sizeWant: map[int]int64{0: 4},
		},
		{
			name:    "extend shorter is a no-op",
			maxOpen: 4,
			ops:     []op{{'w', 0, 0, "abcd"}, {'e', 0, 2, ""}, {'c', 0, 0, ""}},
			want:    map[int]string{0: "abcd"},
			open:    0, created: 1, writes: 1, written: 4,
		},
		{
			name:    "truncated on creation only",
			maxOpen: 1,
			pre:     map[int]string{0: "old contents", 1: "zzzz"},
			ops: []op{
				{'w', 0, 0, "ab"}, {'w', 1, 0, "12"}, // 0 closed to open 1
				{'w', 0, 2, "cd"}, {'f', 0, 0, ""}, // 0 reopened: not truncated
			},
			want: map[int]string{0: "abcd", 1: "12"},
			open: 1, created: 2, reopens: 1, writes: 3, written: 6,
		},
		{
			name:    "least recently used closed",
			maxOpen: 2,
			ops: []op{
				{'w', 0, 0, "a"}, {'w', 1, 0, "b"}, {'w', 0, 1, "A"}, {'f', 0, 0, ""},
				{'w', 2, 0, "c"}, {'f', 0, 0, ""}, // closes 1, not 0
				{'w', 0, 2, "!"}, {'f', 0, 0, ""}, // 0 still open: no reopen
			},
			want: map[int]string{0: "aA!", 1: "b", 2: "c"},
			open: 2, created: 3, reopens: 0, writes: 5, written: 5,
		},
		{
			name:    "open creates an empty file",
			maxOpen: 2,
			ops:     []op{{'o', 0, 0, ""}, {'e', 0, 3, ""}, {'c', 0, 0, ""}, {'o', 1, 0, ""}},
			want:    map[int]string{0: "\x00\x00\x00", 1: ""},
			open:    1, created: 2,
		},
		{
			name:    "discard drops the pending write",
			maxOpen: 2,
			ops:     []op{{'w', 0, 0, "ab"}, {'f', 0, 0, ""}, {'w', 0, 2, "cd"}, {'d', 0, 0, ""}, {'c', 0, 0, ""}},
			want:    map[int]string{0: "ab"},
			open:    0, created: 1, writes: 1, written: 2,
		},
		{
			name:    "nothing written, nothing created",
			maxOpen: 2,
			ops:     []op{{'c', 0, 0, ""}, {'f', 0, 0, ""}},
			want:    map[int]string{},
		},
		{
			name:    "write larger than MaxPending split",
			maxOpen: 1,
			ops: []op{
				{'w', 0, 0, strings.Repeat("x", MaxPending)}, {'w', 0, MaxPending, "y"}, {'c', 0, 0, ""},
			},
			want:    map[int]string{0: strings.Repeat("x", MaxPending) + "y"},
			created: 1, writes: 2, written: MaxPending + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := func(i int) string { return filepath.Join(dir, string(rune('a'+i))) }
			for i, s := range tt.pre {
				if err := os.WriteFile(path(i), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := New(tt.maxOpen, 0o644)
			files := map[int]*File{}
			get := func(i int) *File {
				if files[i] == nil {
					files[i] = &File{Path: path(i)}
				}
				return files[i]
			}
			for _, o := range tt.ops {
				var err error
				switch o.kind {
				case 'w':
					err = c.Write(get(o.file), o.off, []byte(o.data))
				case 'e':
					err = c.Extend(get(o.file), o.off)
				case 'c':
					err = c.Close(get(o.file))
				case 'o':
					err = c.Open(get(o.file))
				case 'f':
					err = c.Flush()
				case 'd':
					c.Discard()
				}
				if err != nil {
					t.Fatalf("%c %d: %v", o.kind, o.file, err)
				}
				if c.NumOpen() > tt.maxOpen {
					t.Fatalf("%d files open, max %d", c.NumOpen(), tt.maxOpen)
				}
			}
			if got := c.NumOpen(); got != tt.open {
				t.Errorf("NumOpen = %d, want %d", got, tt.open)
			}
			open := 0
			for _, f := range files {
				if f.IsOpen() {
					open++
				}
			}
			if open != tt.open {
				t.Errorf("%d files IsOpen, want %d", open, tt.open)
			}
			for i, want := range tt.sizeWant {
				if got := files[i].Size(); got != want {
					t.Errorf("file %d: Size = %d, want %d", i, got, want)
				}
			}
			c.Abort()
			if c.NumOpen() != 0 {
				t.Errorf("NumOpen after Abort = %d", c.NumOpen())
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != len(tt.want) {
				t.Errorf("%d files in dir, want %d", len(ents), len(tt.want))
			}
			for i, want := range tt.want {
				got, err := os.ReadFile(path(i))
				if err != nil {
					t.Errorf("file %d: %v", i, err)
					continue
				}
				if !bytes.Equal(got, []byte(want)) {
					t.Errorf("file %d = %q, want %q", i, trim(got), trim([]byte(want)))
				}
			}
			if g := [4]uint64{c.Created(), c.Reopens(), c.Writes(), c.Written()}; g != [4]uint64{tt.created, tt.reopens, tt.writes, tt.written} {
				t.Errorf("created, reopens, writes, written = %v, want %v", g,
					[4]uint64{tt.created, tt.reopens, tt.writes, tt.written})
			}
		})
	}
}

func trim(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// TestAbort: the pending write is dropped and every open file closed.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	c := New(8, 0o644)
	var fs []*File
	for i := range 5 {
		f := &File{Path: filepath.Join(dir, string(rune('a'+i)))}
		fs = append(fs, f)
		if err := c.Write(f, 0, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if c.NumOpen() != 4 { // the last write is still pending
		t.Fatalf("NumOpen = %d, want 4", c.NumOpen())
	}
	c.Abort()
	if c.NumOpen() != 0 {
		t.Fatalf("NumOpen after Abort = %d", c.NumOpen())
	}
	for i, f := range fs {
		if f.IsOpen() {
			t.Errorf("file %d still open", i)
		}
	}
	if _, err := os.Stat(fs[4].Path); !os.IsNotExist(err) {
		t.Errorf("pending write not dropped: %v", err)
	}
	if err := c.Flush(); err != nil {
		t.Errorf("Flush after Abort: %v", err)
	}
}

// TestOpenError: a failed creation is reported, and nothing is left open.
func TestOpenError(t *testing.T) {
	dir := t.TempDir()
	c := New(2, 0o644)
	f := &File{Path: filepath.Join(dir, "missing", "x")}
	if err := c.Write(f, 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err == nil {
		t.Fatal("Flush into a missing directory succeeded")
	}
	if c.NumOpen() != 0 || f.IsOpen() {
		t.Errorf("NumOpen = %d, IsOpen = %v after a failed open", c.NumOpen(), f.IsOpen())
	}
	if c.Writes() != 0 || c.Written() != 0 {
		t.Errorf("writes, written = %d, %d", c.Writes(), c.Written())
	}
}
