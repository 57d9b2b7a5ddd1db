package offline

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// checkOwner asserts what replicated reading relies on: a frame rawOwner
// recognises is not a fragment, and when it decodes as a TCP segment (no
// VLANs, no tunnel) every worker count gives the worker FlowHash gives,
// with VLANs in the key or not. It reports whether rawOwner recognised it.
func checkOwner(t *testing.T, link decode.LinkType, frame []byte, cfg decode.Config) (bool, decode.Result) {
	t.Helper()
	var seg reassembly.Segment
	res, _ := decode.New(cfg).Decode(link, frame, len(frame), 1, &seg)
	_, ok := rawOwner(link, frame, 2)
	if !ok {
		return false, res
	}
	if res == decode.ResultFragment {
		t.Fatalf("rawOwner recognises a fragment: % x", frame)
	}
	if res != decode.ResultTCP {
		return true, res // malformed: counted once by its owner, no segment
	}
	if seg.VLANs.N != 0 || seg.Tunnel != 0 {
		t.Fatalf("rawOwner recognises a frame with VLANs %v, tunnel %d: % x", seg.VLANs, seg.Tunnel, frame)
	}
	for n := 2; n <= maxReplicas+1; n++ {
		o, _ := rawOwner(link, frame, n)
		for _, noVLAN := range []bool{false, true} {
			if want := int(reassembly.FlowHash(&seg, noVLAN) % uint64(n)); o != want {
				t.Fatalf("%d workers: rawOwner %d, FlowHash %d (noVLAN %v): % x", n, o, want, noVLAN, frame)
			}
		}
	}
	return true, res
}

// frames calls f with every frame of the capture at path.
func frames(t testing.TB, path string, f func(link decode.LinkType, frame []byte)) {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts := make([]pcapfile.Packet, 64)
	for {
		n, err := r.ReadBatch(pkts)
		for i := range n {
			f(pkts[i].Link, pkts[i].Data)
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Logf("%s: %v", path, err) // a truncated corpus file: what was read counts
			return
		}
	}
}

// Over the bundled captures (every link type, VLANs, tunnels, fragments,
// IPv6, malformed frames) and a generated one with IPv6 and VLAN
// connections, the raw owner is FlowHash's worker; and it recognises the
// plain Ethernet IPv4 and IPv6 TCP frames, not the others.
func TestRawOwnerIsFlowHash(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	c, err := flowgen.Generate(flowgen.Mixed(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	paths := []string{gen}
	for _, g := range []string{"../../testdata/pcaps/*.pcap*", "../../testdata/decode/*.pcap*", "../../testdata/tunnels/pcaps/*.pcap*"} {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	var seen, ok, okTCP, notOK, notOKTCP int
	v6 := 0
	for _, p := range paths {
		frames(t, p, func(link decode.LinkType, frame []byte) {
			seen++
			rec, res := checkOwner(t, link, frame, decode.Config{})
			checkOwner(t, link, frame, decode.Config{VerifyChecksums: true, TunnelKey: true})
			switch {
			case rec && res == decode.ResultTCP:
				okTCP++
				if frame[12] == 0x86 {
					v6++
				}
			case rec:
				ok++
			case res == decode.ResultTCP:
				notOKTCP++ // VLANs, other links, tunnels
			default:
				notOK++
			}
		})
	}
	t.Logf("%d files, %d frames: recognised %d TCP (%d IPv6) + %d not TCP; not recognised %d TCP + %d other", len(paths), seen, okTCP, v6, ok, notOKTCP, notOK)
	if okTCP < 10000 || v6 < 100 || notOKTCP < 1000 || notOK < 100 {
		t.Fatalf("the inputs do not cover both sides")
	}
}

// FuzzRawOwner: any frame rawOwner recognises decodes to no fragment and,
// as TCP, to a segment FlowHash gives the same worker.
func FuzzRawOwner(f *testing.F) {
	f.Add(uint16(decode.LinkEthernet), []byte{})
	frames(f, "../../testdata/decode/zk-vlan-qinqinq.pcap", func(link decode.LinkType, frame []byte) {
		f.Add(uint16(link), append([]byte(nil), frame...))
	})
	frames(f, "../../testdata/decode/sniffer-03-keepalive.pcap", func(link decode.LinkType, frame []byte) {
		f.Add(uint16(link), append([]byte(nil), frame...))
	})
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		checkOwner(t, decode.LinkType(link), frame, decode.Config{})
	})
}
