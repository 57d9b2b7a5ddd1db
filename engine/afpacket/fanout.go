package afpacket

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// FanoutEBPF lets an eBPF program pick each packet's socket (its return
// value modulo the group's size): join with it, then give the group its
// program with SetFanoutProgram before any socket is let through its
// filter (until then every packet goes to the first socket).
const FanoutEBPF = unix.PACKET_FANOUT_EBPF

// SetFanoutProgram gives r's fanout group the eBPF program fd
// (PACKET_FANOUT_DATA). The group holds its own reference: the caller may
// close fd afterwards.
func (r *Ring) SetFanoutProgram(fd int) error {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT_DATA, fd); err != nil {
		return fmt.Errorf("afpacket: PACKET_FANOUT_DATA: %w", err)
	}
	return nil
}
