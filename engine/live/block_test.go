package live

import (
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

// These tests run the worker loop on ring blocks built in memory, laid out
// as the kernel lays them out: no root needed.

// ringBlocks turns a flowgen capture into TPACKET_V3 blocks of blockSize.
// Tagged frames get their tag stripped into tp_vlan_tci as the kernel does
// on receive (all of them, or every other one with keepTags: then the
// others keep the tag in the packet, as when the kernel leaves it there);
// shift is added to every timestamp.
func ringBlocks(t testing.TB, c *flowgen.Capture, blockSize int, shift int64, keepTags ...bool) [][]byte {
	t.Helper()
	var blocks [][]byte
	bb := afpacket.NewBlockBuilder(blockSize)
	var frame []byte
	for i, p := range c.All() {
		frame = p.AppendFrame(frame[:0])
		f := afpacket.Frame{Data: frame, TS: p.TS + shift}
		if p.VLAN != 0 && !(len(keepTags) > 0 && keepTags[0] && i%2 == 0) {
			stripped := append(append([]byte(nil), frame[:12]...), frame[16:]...)
			f.Data = stripped
			f.Status = unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID
			f.VLANTCI = p.VLAN | 3<<13 // with a priority, which is not part of the id
			f.VLANTPID = 0x8100
		}
		f.Len = len(f.Data)
		if !bb.Add(f) {
			blocks = append(blocks, append([]byte(nil), bb.Bytes()...))
			bb.Reset()
			if !bb.Add(f) {
				t.Fatalf("frame of %d bytes does not fit a block", len(f.Data))
			}
		}
	}
	if bb.Len() > 0 {
		blocks = append(blocks, append([]byte(nil), bb.Bytes()...))
	}
	return blocks
}

func generate(t testing.TB, cfg flowgen.Config) *flowgen.Capture {
	t.Helper()
	c, err := flowgen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBlocksMatchOffline(t *testing.T) {
	cfg := flowgen.Config{Seed: 11, Conns: 150, VLANShare: 0.5, IPv6Share: 0.3, Reorder: 0.02, Loss: 0.01, Oversize: 0.02}
	c := generate(t, cfg)
	file := genCapture(t, cfg)
	want := offlineRecs(t, file, reassembly.Config{})

	for _, keep := range []bool{false, true} {
		var rc recorder
		lw := newLWorker(0, nil, decode.LinkEthernet, &Config{Handler: rc.handler}, nil, nil)
		frames := feedBlocks(lw, ringBlocks(t, c, 64<<10, 0, keep))
		lw.w.Flush(reassembly.ReasonShutdown)
		if frames != c.Len() || lw.frames.Load() != uint64(c.Len()) {
			t.Fatalf("%d frames in blocks, %d read, %d in the capture", frames, lw.frames.Load(), c.Len())
		}
		diffRecs(t, want, rc.sorted())
		// payload the peer ACKed within its block was never copied
		lw.w.Publish()
		if st := lw.w.Snapshot().Reassembly; st.LeaseCopied == 0 || st.LeaseCopied >= st.Bytes/2 {
			t.Errorf("%d of %d payload bytes copied when their block's lease ended", st.LeaseCopied, st.Bytes)
		}
	}
}

// feedBlocks runs the worker on blocks as run does, and writes over every
// block it gives back to the kernel (as the kernel will): nothing of it may
// be read after its lease ended. The blocks still held at the end are
// given back too. It returns the number of frames.
func feedBlocks(lw *lworker, blocks [][]byte) int {
	frames := 0
	var held [][]byte
	release := func() {
		clear(held[0]) // the kernel's next frames
		for i := range held[0] {
			held[0][i] = 0xee
		}
		held = held[1:]
	}
	for _, blk := range blocks {
		b := afpacket.ParseBlock(blk)
		frames += b.NumPackets()
		held = append(held, blk)
		if lw.block(&b) {
			release()
		}
	}
	for n := lw.endHeld(); n > 0; n-- {
		release()
	}
	if len(held) != 0 {
		panic("blocks left held")
	}
	return frames
}

// TestHoldBlocks: keeping blocks after their walk (holdBlocks) delivers
// from the ring what the peer ACKs in the next blocks: on the bench
// traffic far fewer bytes are copied, and the streams are the same as
// -r's.
func TestHoldBlocks(t *testing.T) {
	cfg := flowgen.Bench(3, 30000)
	c := generate(t, cfg)
	want := offlineRecs(t, genCapture(t, cfg), reassembly.Config{})
	copied := map[int]uint64{}
	for _, hold := range []int{0, 1, holdBlocks} {
		var rc recorder
		lw := newLWorker(0, nil, decode.LinkEthernet, &Config{Handler: rc.handler}, nil, nil)
		lw.hold = hold
		blocks := ringBlocks(t, c, 256<<10, 0)
		if frames := feedBlocks(lw, blocks); frames != c.Len() {
			t.Fatalf("%d frames of %d", frames, c.Len())
		}
		lw.w.Flush(reassembly.ReasonShutdown)
		diffRecs(t, want, rc.sorted())
		lw.w.Publish()
		st := lw.w.Snapshot().Reassembly
		copied[hold] = st.LeaseCopied
		t.Logf("hold %d: %d of %d payload bytes copied at the end of their lease (%d blocks)", hold, st.LeaseCopied, st.Bytes, len(blocks))
	}
	if copied[0] == 0 || copied[1] >= copied[0] || copied[holdBlocks] > copied[0]/3 {
		t.Errorf("bytes copied holding 0, 1, %d blocks: %d, %d, %d", holdBlocks, copied[0], copied[1], copied[holdBlocks])
	}
}

func TestPushOuterVLAN(t *testing.T) {
	var v reassembly.VLANs
	pushOuterVLAN(&v, 0xe005)
	if v.N != 1 || v.IDs[0] != 5 {
		t.Fatalf("%+v", v)
	}
	v = reassembly.VLANs{}
	v.Push(20)
	v.Push(30)
	pushOuterVLAN(&v, 10)
	if v.N != 3 || v.IDs != [4]uint16{10, 20, 30, 0} {
		t.Fatalf("%+v", v)
	}
	pushOuterVLAN(&v, 7)
	pushOuterVLAN(&v, 6)
	if v.N != 4 || v.IDs != [4]uint16{6, 7, 10, 20} {
		t.Fatalf("%+v", v)
	}
}

func TestParseBlockBounds(t *testing.T) {
	bb := afpacket.NewBlockBuilder(4096)
	for i := 0; i < 3; i++ {
		if !bb.Add(afpacket.Frame{Data: make([]byte, 100+i), TS: int64(i) * int64(time.Second)}) {
			t.Fatal("block full")
		}
	}
	blk := bb.Bytes()
	b := afpacket.ParseBlock(blk)
	var f afpacket.Frame
	n := 0
	for b.Next(&f) {
		if len(f.Data) != 100+n || f.TS != int64(n)*int64(time.Second) {
			t.Fatalf("frame %d: %d bytes, ts %d", n, len(f.Data), f.TS)
		}
		n++
	}
	if n != 3 || b.LastTS() != 2*int64(time.Second) {
		t.Fatalf("%d frames, last ts %d", n, b.LastTS())
	}
	// a corrupt num_pkts or offsets end the walk without a panic
	for _, cut := range []int{0, 10, 47, 48, 100, 200, 400} {
		b := afpacket.ParseBlock(blk[:cut])
		for b.Next(&f) {
		}
	}
	bad := append([]byte(nil), blk...)
	bad[12] = 200 // num_pkts
	b = afpacket.ParseBlock(bad)
	n = 0
	for b.Next(&f) {
		n++
	}
	if n != 3 {
		t.Fatalf("corrupt count: %d frames walked", n)
	}
}

// TestWorkerLoopAllocs checks that the worker loop (walk, decode, VLAN,
// Feed, Advance, Publish) does not allocate per packet once warm: a first
// capture fills the pools, a second one with other flows, an hour later
// (so the first one's connections have expired), is measured.
func TestWorkerLoopAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	warm := ringBlocks(t, generate(t, flowgen.Config{Seed: 21, Conns: 400, VLANShare: 0.3, IPv6Share: 0.3, Reorder: 0.01}), 1<<20, 0)
	c2 := generate(t, flowgen.Config{Seed: 22, Conns: 400, VLANShare: 0.3, IPv6Share: 0.3, Reorder: 0.01})
	meas := ringBlocks(t, c2, 1<<20, int64(time.Hour))
	lw := newLWorker(0, nil, decode.LinkEthernet, &Config{Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}, nil, nil)
	for _, blk := range warm {
		b := afpacket.ParseBlock(blk)
		lw.block(&b)
	}
	lw.w.Advance(int64(time.Hour) - 1) // idle clock, as on a poll timeout
	allocs := testing.AllocsPerRun(1, func() {
		for _, blk := range meas {
			b := afpacket.ParseBlock(blk)
			lw.block(&b)
		}
	})
	per := allocs / float64(c2.Len())
	t.Logf("%v allocations for %d packets (%.5f per packet)", allocs, c2.Len(), per)
	if per > 0.001 {
		t.Errorf("%.5f allocations per packet", per)
	}
}

func BenchmarkWorkerBlock(b *testing.B) {
	c := generate(b, flowgen.Bench(1, 200000))
	blocks := ringBlocks(b, c, 1<<20, 0)
	var bytes int
	for _, blk := range blocks {
		bl := afpacket.ParseBlock(blk)
		var f afpacket.Frame
		for bl.Next(&f) {
			bytes += len(f.Data)
		}
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	b.ResetTimer()
	var shift int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lw := newLWorker(0, nil, decode.LinkEthernet, &Config{Handler: func(int) reassembly.Handler { return reassembly.Funcs{} }}, nil, nil)
		shift += int64(time.Hour)
		b.StartTimer()
		for _, blk := range blocks {
			bl := afpacket.ParseBlock(blk)
			lw.block(&bl)
		}
		lw.w.Flush(reassembly.ReasonShutdown)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.Len()), "ns/pkt")
}

// TestChecksumNotReady: with VerifyChecksums, a frame with a bad TCP
// checksum is dropped as malformed, unless the kernel marks it
// TP_STATUS_CSUMNOTREADY (sent by this host, the NIC fills it in).
func TestChecksumNotReady(t *testing.T) {
	c := generate(t, flowgen.Config{Seed: 2, Conns: 1})
	p := c.Packet(0)
	frame := p.AppendFrame(nil)
	frame[len(frame)-1-len(p.Payload)-4] ^= 0xff // a byte of the TCP header options/urgent area: breaks the checksum
	for _, notReady := range []bool{false, true} {
		var rc recorder
		lw := newLWorker(0, nil, decode.LinkEthernet, &Config{Handler: rc.handler, Decode: decode.Config{VerifyChecksums: true}}, nil, nil)
		bb := afpacket.NewBlockBuilder(1 << 16)
		f := afpacket.Frame{Data: frame, TS: p.TS}
		if notReady {
			f.Status = unix.TP_STATUS_CSUMNOTREADY
		}
		bb.Add(f)
		b := afpacket.ParseBlock(bb.Bytes())
		lw.block(&b)
		lw.w.Flush(reassembly.ReasonShutdown)
		lw.publish()
		st := lw.pubDecode
		if notReady && (st.TCP != 1 || st.Malformed != 0) || !notReady && (st.TCP != 0 || st.Reasons[decode.ReasonTCPChecksum] != 1) {
			t.Errorf("not ready %v: %+v", notReady, st)
		}
	}
}
