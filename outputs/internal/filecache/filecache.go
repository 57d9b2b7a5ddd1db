// Package filecache is the open-file cache of an output's writer
// goroutine: files written at positions (so a gap is a hole), at most
// MaxOpen of them open at once, the least recently written one closed to
// open one more and reopened, without truncation, when written again.
//
// A File is created (truncated if it exists) the first time it is opened.
// Contiguous writes to the same file are coalesced into one positioned
// write (WriteAt) of up to 256 KiB, issued when a write does not continue
// it, on Flush, or when its file is closed.
//
// A Cache belongs to one goroutine; only its counters may be read from
// others.
package filecache

import (
	"os"
	"sync/atomic"
)

// MaxPending bounds the bytes of one coalesced write.
const MaxPending = 256 << 10

// File is one file of a Cache. The zero value with Path set is a file not
// yet created. A File may be embedded in a larger per-file state.
type File struct {
	Path       string
	f          *os.File // nil while closed
	size       int64    // length on disk as far as we wrote or extended
	created    bool     // opened once: reopen without truncation
	prev, next *File    // LRU list of open files, most recent first
}

// Size is the file's length as far as it was written or extended (0
// before creation).
func (f *File) Size() int64 { return f.size }

// IsOpen reports whether the file is open.
func (f *File) IsOpen() bool { return f.f != nil }

// Cache keeps at most MaxOpen files open.
type Cache struct {
	maxOpen int
	mode    os.FileMode
	open    int
	head    File // sentinel of the LRU list

	pend    *File // pending positioned write: file, offset, bytes
	pendOff int64
	pendBuf []byte

	created, reopens, written, writes atomic.Uint64
}

// New returns a Cache keeping at most maxOpen (at least 1) files open,
// creating them with permission mode (before umask).
func New(maxOpen int, mode os.FileMode) *Cache {
	return &Cache{maxOpen: max(maxOpen, 1), mode: mode}
}

// NumOpen is how many files are open.
func (c *Cache) NumOpen() int { return c.open }

// Created counts files created (opened for the first time).
func (c *Cache) Created() uint64 { return c.created.Load() }

// Reopens counts files reopened after being closed to respect MaxOpen.
func (c *Cache) Reopens() uint64 { return c.reopens.Load() }

// Written counts the bytes written.
func (c *Cache) Written() uint64 { return c.written.Load() }

// Writes counts the positioned writes issued (failed ones included).
func (c *Cache) Writes() uint64 { return c.writes.Load() }

// Write writes p at offset off of f, now or later (see Flush). It returns
// the error of a previous pending write it had to issue.
func (c *Cache) Write(f *File, off int64, p []byte) error {
	if c.pend == f && c.pendOff+int64(len(c.pendBuf)) == off && len(c.pendBuf)+len(p) <= MaxPending {
		c.pendBuf = append(c.pendBuf, p...)
		return nil
	}
	if err := c.Flush(); err != nil {
		return err
	}
	c.pend, c.pendOff = f, off
	if c.pendBuf == nil {
		c.pendBuf = make([]byte, 0, MaxPending)
	}
	c.pendBuf = append(c.pendBuf[:0], p...)
	return nil
}

// Flush issues the pending write, if any. There is no pending write
// afterwards, even on error.
func (c *Cache) Flush() error {
	f := c.pend
	if f == nil {
		return nil
	}
	c.pend = nil
	if err := c.Open(f); err != nil {
		return err
	}
	c.writes.Add(1)
	if _, err := f.f.WriteAt(c.pendBuf, c.pendOff); err != nil {
		return err
	}
	c.written.Add(uint64(len(c.pendBuf)))
	if e := c.pendOff + int64(len(c.pendBuf)); e > f.size {
		f.size = e
	}
	return nil
}

// Discard drops the pending write, if any.
func (c *Cache) Discard() { c.pend = nil }

// Open opens f (creating or truncating it the first time) and makes it the
// most recently used file, closing the least recently used one if MaxOpen
// are open.
func (c *Cache) Open(f *File) error {
	if f.f != nil {
		c.unlink(f)
		c.pushFront(f)
		return nil
	}
	if c.open >= c.maxOpen {
		if err := c.Close(c.head.prev); err != nil {
			return err
		}
	}
	flag := os.O_WRONLY | os.O_CREATE
	if !f.created {
		flag |= os.O_TRUNC
		c.created.Add(1)
	} else {
		c.reopens.Add(1)
	}
	fd, err := os.OpenFile(f.Path, flag, c.mode)
	if err != nil {
		return err
	}
	f.created = true
	f.f = fd
	c.open++
	c.pushFront(f)
	return nil
}

// Extend issues f's pending write, then extends f to length n if it is
// shorter (a hole), opening it if needed.
func (c *Cache) Extend(f *File, n int64) error {
	if c.pend == f {
		if err := c.Flush(); err != nil {
			return err
		}
	}
	if n > f.size {
		if err := c.Open(f); err != nil {
			return err
		}
		if err := f.f.Truncate(n); err != nil {
			return err
		}
		f.size = n
	}
	return nil
}

// Close issues f's pending write and closes f if it is open. f may be
// reopened later (without truncation).
func (c *Cache) Close(f *File) error {
	if f == nil || f == &c.head || f.f == nil {
		return nil
	}
	if c.pend == f {
		if err := c.Flush(); err != nil {
			return err
		}
	}
	c.unlink(f)
	err := f.f.Close()
	f.f = nil
	c.open--
	return err
}

// Abort drops the pending write and closes every open file, ignoring
// errors (after an error, when nothing more will be written).
func (c *Cache) Abort() {
	c.pend = nil
	for c.head.next != nil && c.head.next != &c.head {
		f := c.head.next
		c.unlink(f)
		f.f.Close()
		f.f = nil
		c.open--
	}
}

func (c *Cache) pushFront(f *File) {
	if c.head.next == nil {
		c.head.next, c.head.prev = &c.head, &c.head
	}
	f.prev, f.next = &c.head, c.head.next
	c.head.next.prev = f
	c.head.next = f
}

func (c *Cache) unlink(f *File) {
	if f.prev != nil {
		f.prev.next = f.next
		f.next.prev = f.prev
	}
	f.prev, f.next = nil, nil
}
