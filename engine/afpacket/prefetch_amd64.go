package afpacket

import "unsafe"

// prefetchFrame asks the CPU to load the three cache lines from p: a
// frame's header and, after tp_mac, its link, IP and TCP headers. A
// prefetch never faults, also past the end of the ring.
//
//go:noescape
func prefetchFrame(p unsafe.Pointer)
