package flowgen

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// floodPacket is what a test reads back of a flood packet.
type floodPacket struct {
	ts       int64
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
}

// readFlood writes f as a pcap and decodes it back with gopacket,
// checking checksums and lengths on the way.
func readFlood(t *testing.T, f Flood) []floodPacket {
	t.Helper()
	var buf bytes.Buffer
	if err := f.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	var out []floodPacket
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil || len(tcp.Payload) != 0 || pk.ErrorLayer() != nil {
			t.Fatalf("packet %d: not a bare IPv4 TCP segment: %v", len(out), pk)
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		want := tcp.Checksum
		tcp.Checksum = 0
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{ComputeChecksums: true}, tcp); err != nil {
			t.Fatal(err)
		}
		if got := uint16(sb.Bytes()[16])<<8 | uint16(sb.Bytes()[17]); got != want {
			t.Fatalf("packet %d: TCP checksum %#04x, want %#04x", len(out), want, got)
		}
		var fl uint8
		for _, b := range []struct {
			on  bool
			bit uint8
		}{{tcp.FIN, FIN}, {tcp.SYN, SYN}, {tcp.RST, RST}, {tcp.PSH, PSH}, {tcp.ACK, ACK}} {
			if b.on {
				fl |= b.bit
			}
		}
		s, _ := netip.AddrFromSlice(ip.SrcIP)
		d, _ := netip.AddrFromSlice(ip.DstIP)
		out = append(out, floodPacket{
			ts:  ci.Timestamp.UnixNano(),
			src: netip.AddrPortFrom(s, uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(d, uint16(tcp.DstPort)),
			seq: tcp.Seq, ack: tcp.Ack, flags: fl,
		})
	}
	return out
}

func TestFloodPresets(t *testing.T) {
	syn := netip.MustParsePrefix("100.64.0.0/10")
	for _, tc := range []struct {
		kind  FloodKind
		n     int
		flags map[uint8]bool // the flag sets allowed; every one must occur
	}{
		{FloodSYN, 20000, map[uint8]bool{SYN: true}},
		{FloodACK, 20000, map[uint8]bool{ACK: true}},
		{FloodRSTFIN, 20000, map[uint8]bool{RST: true, RST | ACK: true, FIN | ACK: true}},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			f := Flood{Kind: tc.kind, Seed: 3, Packets: tc.n}
			pk := readFlood(t, f)
			if len(pk) != tc.n {
				t.Fatalf("%d packets, want %d", len(pk), tc.n)
			}
			tuples := map[[2]netip.AddrPort]bool{}
			srcAddrs := map[netip.Addr]bool{}
			seqs := map[uint32]bool{}
			seen := map[uint8]int{}
			for i, p := range pk {
				if p.ts != Epoch+int64(i)*1000 {
					t.Fatalf("packet %d at %d, want 1 µs apart from Epoch", i, p.ts)
				}
				if !tc.flags[p.flags] {
					t.Fatalf("packet %d: flags %#x", i, p.flags)
				}
				seen[p.flags]++
				if p.flags&ACK == 0 && p.ack != 0 {
					t.Fatalf("packet %d: ack %d without ACK", i, p.ack)
				}
				tuples[[2]netip.AddrPort{p.src, p.dst}] = true
				srcAddrs[p.src.Addr()] = true
				seqs[p.seq] = true
				// never in flowgen's connection ranges
				for _, a := range []netip.Addr{p.src.Addr(), p.dst.Addr()} {
					if netip.MustParsePrefix("198.18.0.0/15").Contains(a) || (a != netip.MustParseAddr("203.0.113.10") && a != netip.MustParseAddr("203.0.113.11") && netip.MustParsePrefix("203.0.113.0/24").Contains(a)) {
						t.Fatalf("packet %d: address %v in a connection range", i, a)
					}
				}
				if tc.kind == FloodSYN && (!syn.Contains(p.src.Addr()) || p.src.Port() < 1024) {
					t.Fatalf("packet %d: source %v", i, p.src)
				}
			}
			for fl := range tc.flags {
				if seen[fl] < tc.n/5 {
					t.Errorf("flags %#x on %d of %d packets", fl, seen[fl], tc.n)
				}
			}
			// Every packet its own 4-tuple; random sequence numbers
			// (birthday collisions among 20k 32-bit values: a handful).
			if len(tuples) != tc.n {
				t.Errorf("%d distinct 4-tuples of %d", len(tuples), tc.n)
			}
			if len(seqs) < tc.n-10 {
				t.Errorf("%d distinct sequence numbers of %d", len(seqs), tc.n)
			}
			if tc.kind == FloodSYN && len(srcAddrs) != tc.n {
				t.Errorf("SYN flood: %d distinct source addresses of %d", len(srcAddrs), tc.n)
			}
			// Packet(i) is what was written.
			for _, i := range []int{0, tc.n / 2, tc.n - 1} {
				q := f.Packet(i)
				if q.Src != pk[i].src || q.Dst != pk[i].dst || q.Seq != pk[i].seq || q.Flags != pk[i].flags {
					t.Errorf("Packet(%d) = %v %v %d %#x, pcap has %+v", i, q.Src, q.Dst, q.Seq, q.Flags, pk[i])
				}
			}
		})
	}
}

// TestFloodDistinctSources checks the bijection behind the SYN flood's
// sources over its whole range: 2^22 packets, 2^22 addresses.
func TestFloodDistinctSources(t *testing.T) {
	if testing.Short() {
		t.Skip("4M packets")
	}
	f := Flood{Kind: FloodSYN, Seed: 9, Packets: 1 << floodSourceBits}
	seen := make([]bool, 1<<floodSourceBits)
	for i := range f.Packets {
		a := f.Packet(i).Src.Addr().As4()
		h := (uint32(a[1])&0x3f)<<16 | uint32(a[2])<<8 | uint32(a[3])
		if seen[h] {
			t.Fatalf("packet %d: source %v again", i, f.Packet(i).Src.Addr())
		}
		seen[h] = true
	}
}

func TestFloodDeterministicAndSpan(t *testing.T) {
	f := Flood{Kind: FloodACK, Seed: 5, Packets: 1001, Start: Epoch + 12345, Span: 10 * time.Second}
	var a, b, c bytes.Buffer
	if err := f.WritePcap(&a); err != nil {
		t.Fatal(err)
	}
	if err := f.WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same Flood, different bytes")
	}
	g := f
	g.Seed = 6
	if err := g.WritePcap(&c); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("another seed, same bytes")
	}
	pk := readFlood(t, f)
	if pk[0].ts != Epoch+12345 || pk[1000].ts != Epoch+12345+10e9 || pk[500].ts != Epoch+12345+5e9 {
		t.Fatalf("timestamps %d %d %d", pk[0].ts, pk[500].ts, pk[1000].ts)
	}
	for i := 1; i < len(pk); i++ {
		if pk[i].ts < pk[i-1].ts {
			t.Fatalf("packet %d goes back in time", i)
		}
	}
}

func TestFloodErrors(t *testing.T) {
	for _, f := range []Flood{{}, {Kind: 9}, {Kind: FloodSYN, Packets: -1}, {Kind: FloodSYN, Span: -time.Second}} {
		if err := f.WritePcap(&bytes.Buffer{}); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
	for _, s := range []string{"syn", "ack", "rstfin"} {
		k, err := ParseFloodKind(s)
		if err != nil || k.String() != s {
			t.Errorf("ParseFloodKind(%q) = %v, %v", s, k, err)
		}
	}
	if _, err := ParseFloodKind("udp"); err == nil {
		t.Error("ParseFloodKind(udp): no error")
	}
}
