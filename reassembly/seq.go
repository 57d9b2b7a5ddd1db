package reassembly

// Seq is a TCP sequence number. Comparisons are modulo 2^32 (RFC 1982
// serial arithmetic), so they stay right across the wrap at 2^32 as long as
// the two values are less than 2^31 apart.
type Seq uint32

// Diff returns s-o as a signed distance: positive when s is after o.
func (s Seq) Diff(o Seq) int32 { return int32(s - o) }

// Add returns s advanced by n bytes (n may be negative).
func (s Seq) Add(n int) Seq { return s + Seq(uint32(n)) }

// LessThan reports whether s comes before o.
func (s Seq) LessThan(o Seq) bool { return int32(s-o) < 0 }

// LessThanEq reports whether s comes before o or equals it.
func (s Seq) LessThanEq(o Seq) bool { return int32(s-o) <= 0 }

// InWindow reports whether s lies in [first, first+size).
func (s Seq) InWindow(first Seq, size uint32) bool { return uint32(s-first) < size }
