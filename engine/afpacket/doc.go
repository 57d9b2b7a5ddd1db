// Package afpacket is the packet source of the live engine: one AF_PACKET
// socket with a TPACKET_V3 receive ring (mmap'ed, block based) per worker,
// all sockets of a capture joined in one PACKET_FANOUT group so that the
// kernel spreads flows over them. It is written on golang.org/x/sys/unix,
// without cgo or libpcap.
//
// # Ring
//
// A TPACKET_V3 ring is Config.NumBlocks blocks of Config.BlockSize bytes.
// The kernel fills one block at a time with frames (each a tpacket3_hdr
// followed by the captured bytes) and hands it to userspace when it is
// full or when Config.BlockTimeout has passed since its first frame
// (TP_STATUS_USER in block_status). A reader walks the whole block (frames
// are linked by tp_next_offset), then gives it back (TP_STATUS_KERNEL):
//
//	for {
//		b, ok, err := r.Next(100 * time.Millisecond) // waits up to 100 ms
//		if !ok { ... idle: advance clocks, check for shutdown ... }
//		var f afpacket.Frame
//		for b.Next(&f) {
//			... f.Data points into the ring: use or copy it now ...
//		}
//		r.Release() // the frames of b must not be used after this
//	}
//
// Next waits in the Go runtime's poller (the socket is non-blocking and
// registered with epoll, as a net.Conn is), not in a blocking poll(2): a
// goroutine blocked in a system call keeps sysmon on its shortest tick,
// which cost as much CPU as walking the blocks (wait.go); poll(2) remains
// the fallback.
//
// block_status is read with an atomic load (acquire) and written back with
// an atomic store (release), so the frame bytes the kernel wrote before it
// set TP_STATUS_USER are visible, and none of our reads of them can move
// past the hand-back.
//
// A frame larger than a block cannot be stored whole: the kernel cuts it to
// what fits (TP_STATUS_COPY). Blocks must therefore be larger than the
// largest frame expected — GRO/GSO/TSO frames of 64 KiB (and BIG TCP
// frames above that) are common on hosts with offloads; the default block
// is 1 MiB.
//
// # Set-up order
//
// OpenGroup opens the sockets of one capture so that no packet is seen
// twice or unfiltered: every socket first gets a classic filter that drops
// everything, is bound to the interface and joins the fanout group; only
// when all of them are in the group is the real filter attached (Attach,
// e.g. the eBPF program of package bpf), which atomically replaces the
// drop-all filter. (A socket that is bound but not yet in the group would
// receive every packet in addition to the group; one bound without a
// filter would queue unfiltered packets.)
//
// # Statistics
//
// The kernel's PACKET_STATISTICS (tpacket_stats_v3) reset on every read;
// Ring.Stats accumulates them. Packets counts every packet the socket's
// filter accepted, Drops included (frames lost because the ring was full).
package afpacket
