package bpf

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// fanoutRun runs the fanout program on a frame as a received packet: the
// kernel's test run pulls the Ethernet header (eth_type_trans), as the
// receive path does before a fanout group sees the packet.
// The test run refuses (EINVAL) an IPv4 or IPv6 frame shorter than its IP
// header: ok is false then.
func fanoutRun(t testing.TB, f *FanoutProgram, frame []byte) (ret uint32, ok bool) {
	t.Helper()
	ret, err := f.prog.Run(&ebpf.RunOptions{Data: frame})
	if errors.Is(err, unix.EINVAL) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN on %d bytes: %v", len(frame), err)
	}
	return ret, true
}

// TestFanoutProgram: the loaded fanout program returns FanoutHash for
// every frame of the corpus, the tunnel captures, the synthetic frames,
// their truncations and bit flips; both directions of a flow hash alike.
func TestFanoutProgram(t *testing.T) {
	requireBPF(t)
	f, err := LoadFanout(DLTEN10MB)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkts := tunnelCorpusFrames(t)
	for i, d := range capturePackets(t, DLTEN10MB) {
		pkts[fmt.Sprintf("corpus %d", i)] = d
	}
	r := rand.New(rand.NewSource(5))
	for name, d := range join2(tunnelPackets(), syntheticPackets()) {
		pkts[name] = d
		for n := 14; n < len(d); n += 3 {
			pkts[fmt.Sprintf("%s cut to %d", name, n)] = d[:n]
		}
		for j := 0; j < 10 && len(d) > 14; j++ {
			m := append([]byte(nil), d...)
			m[14+r.Intn(min(len(m)-14, 120))] ^= byte(1 << r.Intn(8))
			pkts[fmt.Sprintf("%s flip %d", name, j)] = m
		}
	}
	n, skipped := 0, 0
	for name, d := range pkts {
		if len(d) < 14 || len(d) > maxTestRun {
			continue
		}
		got, ok := fanoutRun(t, f, d)
		if !ok {
			skipped++
			continue
		}
		if want := FanoutHash(d, DLTEN10MB); got != want {
			t.Errorf("%s: kernel %#x, FanoutHash %#x (%v)", name, got, want, Inspect(d, DLTEN10MB).Class)
		}
		n++
	}
	// Symmetry: the key's reverse hashes alike.
	for name, d := range tunnelPackets() {
		p := Inspect(d, DLTEN10MB)
		if p.Class != TCP {
			continue
		}
		k := p.Key.Reverse()
		if fanoutKeyHash(p.Key, true) != fanoutKeyHash(k, true) {
			t.Errorf("%s: not symmetric", name)
		}
	}
	t.Logf("%d frames, %d short ones the test run refuses", n, skipped)
	if n < 4000 || skipped > n/5 {
		t.Errorf("weak test: %d frames run, %d refused", n, skipped)
	}
}

func join2(a, b map[string][]byte) map[string][]byte {
	m := map[string][]byte{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m["plain "+k] = v
	}
	return m
}
