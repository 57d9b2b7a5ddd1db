package offline

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/engine/worker"
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
	packets(t, path, func(p *pcapfile.Packet) { f(p.Link, p.Data) })
}

// packets calls f with every packet of the capture at path.
func packets(t testing.TB, path string, f func(p *pcapfile.Packet)) {
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
			f(&pkts[i])
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

// With replicated reading each worker decodes only the common frames it
// owns (with its own decoder) and every other frame (with the shared
// one); Run's summary counts every frame once. A capture with VLANs,
// IPv6 and IP fragments held across batches exercises all three ways.
func TestReplicaDecodesOwnFramesOnly(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	c, err := flowgen.Generate(flowgen.Mixed(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	paths := []string{gen, "../../testdata/decode/zk-ipv4frag-inconsistent.pcap", gen}
	var total, common uint64
	perOwner := make([]uint64, 2)
	for _, p := range paths {
		frames(t, p, func(link decode.LinkType, frame []byte) {
			total++
			if o, ok := rawOwner(link, frame, 2); ok {
				common++
				perOwner[o]++
			}
		})
	}
	cfg := Config{Workers: 2, BatchSize: 64, Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}
	var owns [2]decode.Stats
	var sums [2]Summary
	for k := range 2 {
		w := worker.New(k, cfg.Reassembly, cfg.Handler(k))
		status := &Status{workers: []*worker.Worker{w, w}, replicated: true, own: make([]decode.Stats, 2)}
		var err error
		sums[k], owns[k], err = replica(context.Background(), &cfg, k, 2, 64, w, status, paths)
		if err != nil {
			t.Fatal(err)
		}
	}
	if sums[0].Decode != sums[1].Decode {
		t.Fatalf("the workers' shared decoders differ:\n %+v\n %+v", sums[0].Decode, sums[1].Decode)
	}
	shared := sums[0].Decode.Packets
	t.Logf("%d frames: %d common (%d, %d by owner); worker 0 decoded %d + %d, worker 1 %d + %d",
		total, common, perOwner[0], perOwner[1], shared, owns[0].Packets, shared, owns[1].Packets)
	if sums[0].Packets != total || sums[1].Packets != total {
		t.Fatalf("packets %d, %d, want %d", sums[0].Packets, sums[1].Packets, total)
	}
	// while fragments were held, common frames went to the shared decoder
	if owns[0].Packets+owns[1].Packets+shared != total || shared <= total-common || shared > total-common+2000 {
		t.Fatalf("decoded %d + %d + %d of %d frames (%d common)", owns[0].Packets, owns[1].Packets, shared, total, common)
	}
	if owns[0].Packets == 0 || owns[1].Packets == 0 || owns[0].Packets > perOwner[0] || owns[1].Packets > perOwner[1] {
		t.Fatalf("own decodes %d, %d; owned frames %v", owns[0].Packets, owns[1].Packets, perOwner)
	}
	var all decode.Stats
	all.Add(&sums[0].Decode)
	all.Add(&owns[0])
	all.Add(&owns[1])
	whole := runOne(t, paths)
	if all != whole.Decode {
		t.Fatalf("decoder counts\n %+v\nwant (one worker)\n %+v", all, whole.Decode)
	}
}

// runOne runs paths with one worker.
func runOne(t *testing.T, paths []string) Summary {
	t.Helper()
	sum, err := Run(context.Background(), Config{Workers: 1, Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// The Status a running replicated Run publishes counts every frame's
// decoding once too: after the run it holds the summary's counts.
func TestReplicatedStatusDecodeCounts(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.pcap")
	c, err := flowgen.Generate(flowgen.Mixed(6))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WritePcapFile(gen); err != nil {
		t.Fatal(err)
	}
	var st *Status
	cfg := Config{Workers: 2, BatchSize: 100, Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }, Started: func(s *Status) { st = s }}
	sum, err := Run(context.Background(), cfg, gen)
	if err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot()
	if snap.Decode != sum.Decode || sum.Decode.Packets != sum.Packets || sum.Decode.TCP == 0 {
		t.Fatalf("status decode counts\n %+v\nsummary\n %+v (%d packets)", snap.Decode, sum.Decode, sum.Packets)
	}
}
