//go:build !amd64

package afpacket

import "unsafe"

// prefetchFrame is a no-op where the package has no prefetch instruction.
func prefetchFrame(unsafe.Pointer) {}
