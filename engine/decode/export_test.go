package decode

import "github.com/fastsniff/fastsniff/reassembly"

// SetNoFast turns the fast path off (fast.go), for tests that compare it
// with the general path.
func SetNoFast(d *Decoder, off bool) { d.noFast = off }

// FastTakes reports whether the fast path decodes data (a frame of
// Ethernet, whole).
func FastTakes(data []byte) bool {
	var seg reassembly.Segment
	return New(Config{}).fastEtherIPv4TCP(data, &seg)
}
