// Package reassembly turns decoded TCP segments into each connection's two
// ordered byte streams, in the model of Perl's Sniffer::Connection: bytes
// from the client ("sent") and from the server ("received") are handed to a
// Handler once the peer has acknowledged them.
//
// A Table is owned by one goroutine (one capture worker): it takes no locks.
// Feed it one Segment at a time with its capture timestamp; time only moves
// with the capture clock, so replaying an old capture behaves exactly like
// capturing it live. Call Flush at the end of input.
//
// Sequence numbers are compared modulo 2^32 (type Seq) and every stream
// offset is 64-bit, so flows past 4 GiB and several wraps stay correct.
// Memory is bounded by Config limits whatever the input; every way in which
// input is odd (duplicates, overlaps, holes, out-of-window segments, forced
// delivery) is counted in Stats.
//
// The package is pure Go and has no operating-system dependency.
package reassembly
