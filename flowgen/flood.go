package flowgen

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// FloodKind is what a Flood sends.
type FloodKind uint8

// The flood kinds (issue #10's worst days).
const (
	// FloodSYN: every packet a SYN from a distinct source address and
	// port to one of a few servers: each one a new half-open connection.
	FloodSYN FloodKind = iota + 1
	// FloodACK: every packet a bare ACK on a random 4-tuple with random
	// sequence and acknowledgment numbers: each one a candidate for a
	// connection picked up midstream.
	FloodACK
	// FloodRSTFIN: every packet a RST (half with ACK) or a FIN+ACK on a
	// random 4-tuple with random numbers: closes of connections never seen.
	FloodRSTFIN
)

// ParseFloodKind returns the kind named syn, ack or rstfin.
func ParseFloodKind(s string) (FloodKind, error) {
	switch s {
	case "syn":
		return FloodSYN, nil
	case "ack":
		return FloodACK, nil
	case "rstfin":
		return FloodRSTFIN, nil
	}
	return 0, fmt.Errorf("flowgen: unknown flood %q (want syn, ack or rstfin)", s)
}

func (k FloodKind) String() string {
	switch k {
	case FloodSYN:
		return "syn"
	case FloodACK:
		return "ack"
	case FloodRSTFIN:
		return "rstfin"
	}
	return fmt.Sprintf("FloodKind(%d)", uint8(k))
}

// DefaultFloodPackets is a Flood's size when Packets is 0.
const DefaultFloodPackets = 1_000_000

// Flood describes a capture of attack packets, IPv4 over Ethernet without
// payload. Packet i is a pure function of the Flood and i, so a flood of
// any size costs no memory, and the same Flood always gives the same bytes.
//
// Sources of SYN floods come from 100.64.0.0/10 and every other address
// from 10.0.0.0/8 and 172.16.0.0/12 - ranges flowgen's connections
// (198.18.0.0/15, 203.0.113.0/24) never use - so a flood merged into a
// flowgen capture never touches one of its connections.
type Flood struct {
	Kind FloodKind
	// Seed chooses the addresses, ports and numbers.
	Seed int64
	// Packets is the number of packets (DefaultFloodPackets when 0).
	Packets int
	// Start is the capture time of packet 0, Unix nanoseconds (Epoch
	// when 0).
	Start int64
	// Span is the time from packet 0 to the last one: packets are evenly
	// spaced over it, so the flood can be laid over another capture's
	// time span and merged with it. When 0, packets are 1 µs apart.
	Span time.Duration
}

func (f Flood) withDefaults() (Flood, error) {
	if f.Kind < FloodSYN || f.Kind > FloodRSTFIN {
		return f, fmt.Errorf("flowgen: flood kind %d unknown", f.Kind)
	}
	if f.Packets < 0 || f.Span < 0 {
		return f, fmt.Errorf("flowgen: flood of %d packets over %v", f.Packets, f.Span)
	}
	if f.Packets == 0 {
		f.Packets = DefaultFloodPackets
	}
	if f.Start == 0 {
		f.Start = Epoch
	}
	if f.Span == 0 {
		f.Span = time.Duration(f.Packets-1) * time.Microsecond
	}
	return f, nil
}

// floodSourceBits: a SYN flood's first 2^floodSourceBits packets have
// distinct source addresses.
const floodSourceBits = 22

// Len returns the number of packets, defaults applied.
func (f Flood) Len() int {
	if f.Packets == 0 {
		return DefaultFloodPackets
	}
	return f.Packets
}

// floodServers are the SYN flood's targets: a few servers on common ports.
var floodServers = [...]netip.AddrPort{
	netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, 10}), 80),
	netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, 10}), 443),
	netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, 11}), 80),
	netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, 11}), 443),
}

// Packet returns packet i (0 <= i < Len()) of the flood, which must be
// valid (see WritePcap). It has no payload and Conn -1.
func (f Flood) Packet(i int) Packet {
	f, _ = f.withDefaults()
	seed := mix64(uint64(f.Seed) ^ 0x6a09e667f3bcc908 ^ uint64(f.Kind)<<40)
	h := mix64(seed + uint64(i)*0x9e3779b97f4a7c15)
	h2 := mix64(h ^ seed)
	p := Packet{Conn: -1, Window: 64240}
	if f.Packets > 1 {
		p.TS = f.Start + int64(float64(f.Span)*float64(i)/float64(f.Packets-1))
	} else {
		p.TS = f.Start
	}
	switch f.Kind {
	case FloodSYN:
		// Distinct sources: i's 22 low bits go through a bijection of
		// [0, 2^22) (an odd multiplier, then an xor) to a host in
		// 100.64.0.0/10, so the first 4Mi packets come from distinct
		// addresses; the port is random.
		const mask = 1<<floodSourceBits - 1
		host := (uint32(i)&mask*0x2c9277b5 ^ uint32(seed)) & mask
		p.Src = netip.AddrPortFrom(addr4(100<<24|64<<16|host), uint16(1024+h%64512))
		p.Dst = floodServers[h2%uint64(len(floodServers))]
		p.Seq = uint32(h >> 32)
		p.Flags = SYN
	default:
		p.Src = netip.AddrPortFrom(addr4(10<<24|uint32(h)&0xffffff), uint16(h>>24))
		p.Dst = netip.AddrPortFrom(addr4(172<<24|16<<16|uint32(h2)&0xfffff), uint16(h2>>20))
		p.Seq, p.Ack = uint32(h>>32), uint32(h2>>32)
		p.Flags = ACK
		if f.Kind == FloodRSTFIN {
			switch h2 >> 62 {
			case 0:
				p.Flags = RST
				p.Ack = 0
			case 1:
				p.Flags = RST | ACK
			default:
				p.Flags = FIN | ACK
			}
		}
	}
	return p
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// WritePcap writes the flood as a pcap file, in the format of
// Capture.WritePcap (nanosecond timestamps, Ethernet).
func (f Flood) WritePcap(w io.Writer) error {
	f, err := f.withDefaults()
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	var frame []byte
	for i := 0; i < f.Packets; i++ {
		p := f.Packet(i)
		frame = p.AppendFrame(frame[:0])
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: len(frame), Length: len(frame)}
		if err := pw.WritePacket(ci, frame); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WritePcapFile writes the flood to a new file at path.
func (f Flood) WritePcapFile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.WritePcap(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
