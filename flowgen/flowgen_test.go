package flowgen_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func generate(t testing.TB, cfg flowgen.Config) *flowgen.Capture {
	t.Helper()
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pcapBytes(t testing.TB, c *flowgen.Capture) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func truthBytes(t testing.TB, c *flowgen.Capture) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.WriteTruth(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterminism(t *testing.T) {
	cfg := flowgen.Mixed(11)
	cfg.Conns = 60
	a, b := generate(t, cfg), generate(t, cfg)
	if !bytes.Equal(pcapBytes(t, a), pcapBytes(t, b)) {
		t.Fatal("same config, different pcaps")
	}
	if !bytes.Equal(truthBytes(t, a), truthBytes(t, b)) {
		t.Fatal("same config, different truths")
	}
	// DigestOnly changes nothing but Data.
	cfg.DigestOnly = true
	d := generate(t, cfg)
	if !bytes.Equal(pcapBytes(t, a), pcapBytes(t, d)) || !bytes.Equal(truthBytes(t, a), truthBytes(t, d)) {
		t.Fatal("DigestOnly changed the output")
	}
	for i := range d.Conns {
		if d.Conns[i].Streams[0].Data != nil || d.Conns[i].Streams[1].Data != nil {
			t.Fatal("DigestOnly kept Data")
		}
	}
	cfg.Seed++
	if bytes.Equal(pcapBytes(t, a), pcapBytes(t, generate(t, cfg))) {
		t.Fatal("different seeds, same pcap")
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []flowgen.Config{
		{Loss: 1.5},
		{Reorder: -0.1},
		{Loss: 0.5, CaptureLoss: 0.3, Duplicate: 0.3},
		{MinBytes: 100, MaxBytes: 10},
		{MSS: 70000},
	} {
		if _, err := flowgen.Generate(cfg); err == nil {
			t.Errorf("Generate(%+v): no error", cfg)
		}
	}
}

// TestPcapDecodes reads the pcap back with gopacket: every frame decodes
// to the Packet it was made from, and every checksum is valid.
func TestPcapDecodes(t *testing.T) {
	cfg := flowgen.Mixed(5)
	cfg.Conns = 80
	cfg.Oversize = 0.05
	c := generate(t, cfg)
	r, err := pcapgo.NewReader(bytes.NewReader(pcapBytes(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != flowgen.Snaplen {
		t.Fatalf("link type %v, snaplen %d", r.LinkType(), r.Snaplen())
	}
	n, v6, vlan := 0, 0, 0
	for i, want := range c.All() {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if ci.Timestamp.UnixNano() != want.TS || ci.CaptureLength != len(data) || ci.Length != len(data) || len(data) != want.FrameLen() {
			t.Fatalf("packet %d: capture info %+v, want ts %d len %d", i, ci, want.TS, want.FrameLen())
		}
		pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if el := pk.ErrorLayer(); el != nil {
			t.Fatalf("packet %d: %v", i, el.Error())
		}
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("packet %d: no TCP layer", i)
		}
		var src, dst []byte
		if ip4, ok := pk.NetworkLayer().(*layers.IPv4); ok {
			if err, res := ip4.VerifyChecksum(); err != nil || !res.Valid {
				t.Fatalf("packet %d: bad IPv4 checksum %+v %v", i, res, err)
			}
			if int(ip4.Length) != len(data)-14-4*b2i(want.VLAN != 0) {
				t.Fatalf("packet %d: IPv4 length %d", i, ip4.Length)
			}
			if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
				t.Fatal(err)
			}
			src, dst = ip4.SrcIP, ip4.DstIP
		} else {
			ip6 := pk.NetworkLayer().(*layers.IPv6)
			if err := tcp.SetNetworkLayerForChecksum(ip6); err != nil {
				t.Fatal(err)
			}
			src, dst = ip6.SrcIP, ip6.DstIP
			v6++
		}
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("packet %d: bad TCP checksum %+v %v", i, res, err)
		}
		if dq, ok := pk.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
			vlan++
			if dq.VLANIdentifier != want.VLAN {
				t.Fatalf("packet %d: VLAN %d, want %d", i, dq.VLANIdentifier, want.VLAN)
			}
		} else if want.VLAN != 0 {
			t.Fatalf("packet %d: no VLAN tag, want %d", i, want.VLAN)
		}
		flags := b2i(tcp.FIN) | b2i(tcp.SYN)<<1 | b2i(tcp.RST)<<2 | b2i(tcp.PSH)<<3 | b2i(tcp.ACK)<<4
		if !bytes.Equal(src, want.Src.Addr().AsSlice()) || !bytes.Equal(dst, want.Dst.Addr().AsSlice()) ||
			uint16(tcp.SrcPort) != want.Src.Port() || uint16(tcp.DstPort) != want.Dst.Port() ||
			tcp.Seq != want.Seq || tcp.Ack != want.Ack || uint8(flags) != want.Flags || tcp.Window != want.Window ||
			!bytes.Equal(tcp.Payload, want.Payload) {
			t.Fatalf("packet %d: decoded %v:%d > %v:%d seq %d ack %d flags %#x win %d len %d; want %+v",
				i, src, tcp.SrcPort, dst, tcp.DstPort, tcp.Seq, tcp.Ack, flags, tcp.Window, len(tcp.Payload), want)
		}
		if tcp.SYN && (len(tcp.Options) != 1 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS) {
			t.Fatalf("packet %d: SYN options %v", i, tcp.Options)
		}
		n++
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Fatalf("after %d packets: %v, want EOF", n, err)
	}
	if n != c.Len() || v6 == 0 || vlan == 0 {
		t.Fatalf("%d packets (want %d), %d IPv6, %d tagged", n, c.Len(), v6, vlan)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCleanConnections checks the packets of a capture with no impairment:
// a handshake, data ACKed as it goes, FIN from both sides, each ACKed, and
// truth that is all the bytes sent.
func TestCleanConnections(t *testing.T) {
	c := generate(t, flowgen.Config{Seed: 3, Conns: 150, IPv6Share: 0.5, VLANShare: 0.5, MaxBytes: 100_000})
	pk := make([][]flowgen.Packet, len(c.Conns))
	for _, p := range c.All() {
		q := *p
		q.Payload = bytes.Clone(p.Payload)
		pk[p.Conn] = append(pk[p.Conn], q)
	}
	var last int64
	for i, p := range c.All() {
		if p.TS < last {
			t.Fatalf("packet %d goes back in time", i)
		}
		last = p.TS
	}
	for i := range c.Conns {
		cn, ps := &c.Conns[i], pk[i]
		if len(ps) != cn.Packets || ps[0].TS != cn.Start || ps[len(ps)-1].TS != cn.End {
			t.Fatalf("conn %d: %d packets, truth says %d", i, len(ps), cn.Packets)
		}
		if len(ps) < 7 {
			t.Fatalf("conn %d: only %d packets", i, len(ps))
		}
		if ps[0].Flags != flowgen.SYN || ps[0].Dir != 0 || ps[0].Seq != cn.ISN[0] ||
			ps[1].Flags != flowgen.SYN|flowgen.ACK || ps[1].Dir != 1 || ps[1].Seq != cn.ISN[1] || ps[1].Ack != cn.ISN[0]+1 ||
			ps[2].Flags != flowgen.ACK || ps[2].Dir != 0 || ps[2].Ack != cn.ISN[1]+1 {
			t.Fatalf("conn %d: handshake %+v %+v %+v", i, ps[0], ps[1], ps[2])
		}
		if cn.EndsWith != flowgen.EndFIN || cn.Midstream || cn.OneSided || cn.Impairments.Any() {
			t.Fatalf("conn %d: not clean: %+v", i, cn)
		}
		var data [2][]byte
		var fins [2]int
		var lastAck [2]uint32 // highest ACK each side sent, as offset of the other's stream
		for j, p := range ps {
			if p.Src != [2]netip.AddrPort{cn.Client, cn.Server}[p.Dir] || p.VLAN != cn.VLAN {
				t.Fatalf("conn %d packet %d: endpoints %v %v vlan %d", i, j, p.Src, p.Dst, p.VLAN)
			}
			if j > 0 && p.Flags&flowgen.ACK == 0 {
				t.Fatalf("conn %d packet %d: no ACK flag", i, j)
			}
			if len(p.Payload) > 0 {
				off := p.Seq - cn.ISN[p.Dir] - 1
				if int(off) != len(data[p.Dir]) {
					t.Fatalf("conn %d packet %d: seq offset %d, want %d (clean capture is in order)", i, j, off, len(data[p.Dir]))
				}
				if len(p.Payload) > 1460 {
					t.Fatalf("conn %d packet %d: %d bytes", i, j, len(p.Payload))
				}
				data[p.Dir] = append(data[p.Dir], p.Payload...)
			}
			if p.Flags&flowgen.FIN != 0 {
				fins[p.Dir]++
			}
			if p.Flags&flowgen.RST != 0 {
				t.Fatalf("conn %d: RST", i)
			}
			lastAck[p.Dir] = p.Ack - cn.ISN[1-p.Dir] - 1
		}
		if fins != [2]int{1, 1} {
			t.Fatalf("conn %d: FINs %v", i, fins)
		}
		for d := range 2 {
			st := &cn.Streams[d]
			if !bytes.Equal(data[d], st.Data) || st.Total != uint64(len(data[d])) || st.Delivered != st.Total || len(st.Gaps) != 0 || st.Unseen {
				t.Fatalf("conn %d dir %d: truth %d/%d bytes, captured %d", i, d, st.Delivered, st.Total, len(data[d]))
			}
			if st.SHA256 != sha256.Sum256(data[d]) {
				t.Fatalf("conn %d dir %d: digest", i, d)
			}
			// The peer's last ACK covers all the data and the FIN.
			if got := lastAck[1-d]; uint64(got) != st.Total+1 {
				t.Fatalf("conn %d dir %d: last ACK at offset %d, want %d", i, d, got, st.Total+1)
			}
		}
	}
	if err := checkOracle(c); err != nil {
		t.Fatal(err)
	}
}

// TestOracleManySeeds checks the truth against the oracle for many seeds of
// the mixed preset (every impairment at once).
func TestOracleManySeeds(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 8
	}
	for seed := range int64(seeds) {
		cfg := flowgen.Mixed(seed)
		cfg.Conns = 40
		cfg.MaxBytes = 20_000
		c := generate(t, cfg)
		if err := checkOracle(c); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

func TestTruthRoundTrip(t *testing.T) {
	c := generate(t, flowgen.Mixed(2))
	tr := truthBytes(t, c)
	got, err := flowgen.ReadTruth(bytes.NewReader(tr))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(c.Conns) {
		t.Fatalf("%d lines, %d conns", len(got), len(c.Conns))
	}
	for i, g := range got {
		if !reflect.DeepEqual(g, c.Truth(i)) {
			t.Fatalf("line %d: %+v, want %+v", i, g, c.Truth(i))
		}
	}
	if _, err := flowgen.ReadTruth(strings.NewReader("{\"conn\":1}\n{")); err == nil {
		t.Fatal("no error for a broken truth file")
	}
}

func TestWritePcapFile(t *testing.T) {
	c, err := flowgen.Generate(flowgen.Config{Seed: 3, Conns: 5})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := c.WritePcapFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, buf.Bytes()) {
		t.Fatalf("file differs from WritePcap's output (%v)", err)
	}
	if err := c.WritePcapFile(filepath.Join(t.TempDir(), "missing", "x.pcap")); err == nil {
		t.Error("no error for a file in a missing directory")
	}
}
