package bpf

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// BypassMode says what the kernel does with a bypassed flow's packets.
type BypassMode uint64

const (
	// BypassCut returns every packet cut to its headers (the default:
	// userspace still sees each packet's flags, sequence numbers and
	// lengths).
	BypassCut BypassMode = 0
	// BypassDrop drops a packet without SYN, FIN or RST and only counts
	// it (packets, payload bytes) in the flow's map entry; one packet
	// per direction every Config.DropPassInterval passes cut, uncounted,
	// so that userspace sees the flow alive (its idle timeout) and its
	// sequence numbers advance; so does a packet with a zero window. From a direction's first SYN, FIN or RST
	// on, its packets all pass cut and uncounted (the close, and what
	// follows it, reach the Table as from a capture file).
	// Read the counts with TakeBypass when the connection closes.
	BypassDrop BypassMode = 1
	// bypassClosing is what drop mode becomes for a direction at its
	// first SYN, FIN or RST: its packets pass cut and uncounted from then
	// on, as in cut mode, so that nothing after the close is counted.
	bypassClosing BypassMode = 2
)

// DefaultDropPassInterval is Config.DropPassInterval when 0: far below any
// sensible idle timeout, and one packet a second per direction costs
// nothing.
const DefaultDropPassInterval = time.Second

// bypassValue is the bypass map's value (one per direction, 32 bytes):
// its memory image. Offsets are used by the program (bypassOff*).
type bypassValue struct {
	Packets  uint64 // cut mode: packets cut; drop mode: packets dropped
	Bytes    uint64 // drop mode: payload bytes (IP length - headers) of the dropped packets
	LastPass uint64 // drop mode: CLOCK_MONOTONIC ns of the last packet passed
	Mode     BypassMode
}

const (
	bypassValueSize   = 32
	bypassOffPackets  = 0
	bypassOffBytes    = 8
	bypassOffLastPass = 16
	bypassOffMode     = 24
)

// Stack slots of the capture program besides translate.go's.
const (
	stackIPEnd = -140 // innermost IP header offset + its length (IPv4 total, IPv6 40 + payload)
	stackFlags = -144 // TCP bytes 12-15, host order: data offset, flags << 16, window (when keyed)
)

// tcpPassFlags are the flags whose packets drop mode still passes.
const tcpPassFlags = 0x01 | 0x02 | 0x04 // FIN, SYN, RST

// DirCounts is what the kernel counted for one direction of a flow.
type DirCounts struct {
	Packets uint64 // packets dropped (drop mode) or cut (cut mode)
	Bytes   uint64 // payload bytes of the dropped packets (drop mode)
}

// monotonic is bpf_ktime_get_ns's clock.
func monotonic() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0 // the first dropped packet then passes: harmless
	}
	return uint64(ts.Nano())
}

// BypassWith bypasses flow k (both directions) in mode m. An entry
// already there is reset (its counts are lost: read them first).
func (p *Program) BypassWith(k FlowKey, m BypassMode) error {
	v := bypassValue{LastPass: monotonic(), Mode: m}
	for _, key := range [2]FlowKey{k, k.Reverse()} {
		b := key.bytes()
		if err := p.bypass.Update(b[:], &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("bpf: bypass %v: %w", key, err)
		}
	}
	return nil
}

// TakeBypass reads and removes both directions of flow k: c[0] is k's
// direction, c[1] the reverse's. A direction not in the map (never
// bypassed, or evicted by the LRU under pressure) counts zero; ok says
// whether both were there.
func (p *Program) TakeBypass(k FlowKey) (c [2]DirCounts, ok bool, err error) {
	ok = true
	for i, key := range [2]FlowKey{k, k.Reverse()} {
		b := key.bytes()
		var v bypassValue
		e := p.bypass.LookupAndDelete(b[:], &v)
		if errors.Is(e, ebpf.ErrNotSupported) { // kernels before 5.14 for hash maps
			if e = p.bypass.Lookup(b[:], &v); e == nil {
				e = p.bypass.Delete(b[:])
			}
		}
		switch {
		case errors.Is(e, ebpf.ErrKeyNotExist):
			ok = false
		case e != nil:
			return c, false, fmt.Errorf("bpf: take bypass %v: %w", key, e)
		default:
			c[i] = DirCounts{Packets: v.Packets, Bytes: v.Bytes}
		}
	}
	return c, ok, nil
}
