package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestBlockRoundTrip(t *testing.T) {
	bb := NewBlockBuilder(1 << 16)
	want := []Frame{
		{Data: []byte("plain frame"), Len: 100, TS: 1_700_000_000_123456789},
		{Data: []byte("tagged"), TS: 1_700_000_001_000000001, Status: unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, VLANTCI: 0x2006, VLANTPID: 0x88a8},
		{Data: []byte("old kernel tag"), TS: 5, Status: unix.TP_STATUS_VLAN_VALID, VLANTCI: 7},
		{Data: []byte("csum"), TS: 6, Status: unix.TP_STATUS_CSUMNOTREADY | unix.TP_STATUS_COPY, RxHash: 0xdeadbeef},
		{Data: nil, TS: 7},
	}
	for _, f := range want {
		if !bb.Add(f) {
			t.Fatal("full")
		}
	}
	b := ParseBlock(bb.Bytes())
	if b.NumPackets() != len(want) || b.LastTS() != want[1].TS || b.FirstTS() != want[0].TS {
		t.Fatalf("%d packets, first %d, last %d", b.NumPackets(), b.FirstTS(), b.LastTS())
	}
	var f Frame
	for i := 0; b.Next(&f); i++ {
		w := want[i]
		if string(f.Data) != string(w.Data) || f.TS != w.TS || f.Status != w.Status || f.RxHash != w.RxHash || f.Len != max(w.Len, len(w.Data)) {
			t.Errorf("frame %d: %+v, want %+v", i, f, w)
		}
		tci, tpid, ok := f.VLAN()
		switch i {
		case 1:
			if !ok || tci != 0x2006 || tpid != 0x88a8 {
				t.Errorf("frame 1 vlan %x %x %v", tci, tpid, ok)
			}
		case 2:
			if !ok || tci != 7 || tpid != 0x8100 {
				t.Errorf("frame 2 vlan %x %x %v", tci, tpid, ok)
			}
		default:
			if ok {
				t.Errorf("frame %d has a vlan", i)
			}
		}
		if f.ChecksumNotReady() != (i == 3) || f.Cut() != (i == 3) {
			t.Errorf("frame %d: csum %v cut %v", i, f.ChecksumNotReady(), f.Cut())
		}
	}
	if b.Next(&f) {
		t.Error("frame past the end")
	}
}

func TestCapError(t *testing.T) {
	err := permErr("AF_PACKET socket", "CAP_NET_RAW", unix.EPERM)
	if !errors.Is(err, ErrPermission) || !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Fatalf("%v", err)
	}
	if err := permErr("bind", "X", unix.ENODEV); errors.Is(err, ErrPermission) {
		t.Fatalf("%v", err)
	}
}

// The socket tests need root and a veth pair in a namespace of their own.

var nsSeq atomic.Int32

type testNS struct{ name, path, tx, rx string }

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func newTestNS(t *testing.T) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespace and AF_PACKET sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	v := &testNS{name: fmt.Sprintf("fsafp%d-%d", os.Getpid(), nsSeq.Add(1)), tx: "aftx", rx: "afrx"}
	v.path = "/run/netns/" + v.name
	_ = sh("ip", "netns", "del", v.name)
	if err := sh("ip", "netns", "add", v.name); err != nil {
		t.Skipf("cannot create a namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := sh("ip", "netns", "del", v.name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	for _, s := range [][]string{
		{"ip", "netns", "exec", v.name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
		{"ip", "netns", "exec", v.name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", v.name, "link", "add", v.tx, "type", "veth", "peer", "name", v.rx},
		{"ip", "-n", v.name, "link", "set", v.tx, "up"},
		{"ip", "-n", v.name, "link", "set", v.rx, "up"},
	} {
		if err := sh(s...); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// sender opens a raw socket on tx.
func (v *testNS) sender(t *testing.T) int {
	t.Helper()
	var fd int
	err := InNetNS(v.path, func() error {
		ifi, err := net.InterfaceByName(v.tx)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// tcpFrame builds an Ethernet/IPv4/TCP frame of flow (10.0.0.1:sport ->
// 10.0.0.2:80, or reversed) carrying marker in its payload. Checksums are
// not needed on a veth.
func tcpFrame(sport uint16, reverse bool, marker uint32, vlan uint16) []byte {
	b := make([]byte, 0, 80)
	b = append(b, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1)
	if vlan != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, vlan)
	}
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	src, dst := []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}
	sp, dp := sport, uint16(80)
	if reverse {
		src, dst, sp, dp = dst, src, dp, sp
	}
	ip := []byte{0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0}
	ip = append(ip, src...)
	ip = append(ip, dst...)
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, sp)
	b = binary.BigEndian.AppendUint16(b, dp)
	b = binary.BigEndian.AppendUint32(b, 1000) // seq
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0)
	return binary.BigEndian.AppendUint32(b, marker)
}

func marker(f []byte) uint32 { return binary.BigEndian.Uint32(f[len(f)-4:]) }

// drain reads every ring until want frames came (or wait passed), returning
// which ring saw each marker.
func drain(t *testing.T, rings []*Ring, want int, wait time.Duration) map[uint32][]int {
	t.Helper()
	seen := map[uint32][]int{}
	total := 0
	deadline := time.Now().Add(wait)
	for total < want && time.Now().Before(deadline) {
		for i, r := range rings {
			b, ok, err := r.Next(5 * time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			var f Frame
			for b.Next(&f) {
				seen[marker(f.Data)] = append(seen[marker(f.Data)], i)
				total++
			}
			r.Release()
		}
	}
	return seen
}

func TestGroupFanout(t *testing.T) {
	v := newTestNS(t)
	rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 4, BlockSize: 1 << 16}, 2, (*Ring).DetachFilter)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range rings {
			r.Close()
		}
	}()
	if rings[0].LinkType() != LinkEthernet {
		t.Fatalf("link type %d (hatype %d)", rings[0].LinkType(), rings[0].HardwareType())
	}
	tx := v.sender(t)
	const flows, per = 64, 8
	n := 0
	for fl := 0; fl < flows; fl++ {
		for k := 0; k < per; k++ {
			vlan := uint16(0)
			if fl%2 == 1 {
				vlan = 100 + uint16(fl)
			}
			m := uint32(fl<<16 | k)
			if _, err := unix.Write(tx, tcpFrame(uint16(10000+fl), k%2 == 1, m, vlan)); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	seen := drain(t, rings, n, 2*time.Second)
	perRing := make([]int, len(rings))
	for fl := 0; fl < flows; fl++ {
		owner := -1
		for k := 0; k < per; k++ {
			m := uint32(fl<<16 | k)
			rs := seen[m]
			if len(rs) != 1 {
				t.Fatalf("frame %x seen %d times", m, len(rs))
			}
			if owner >= 0 && rs[0] != owner {
				t.Errorf("flow %d on rings %d and %d", fl, owner, rs[0])
			}
			owner = rs[0]
		}
		perRing[owner]++
	}
	t.Logf("flows per ring: %v", perRing)
	if perRing[0] == 0 || perRing[1] == 0 {
		t.Errorf("fanout did not spread flows: %v", perRing)
	}
	var st Stats
	for _, r := range rings {
		s, err := r.Stats()
		if err != nil {
			t.Fatal(err)
		}
		st.Add(s)
	}
	if st.Packets != uint64(n) || st.Drops != 0 {
		t.Errorf("stats %+v, sent %d", st, n)
	}
	// counters accumulate (the kernel resets them on every read)
	s2, _ := rings[0].Stats()
	s1, _ := rings[0].Stats()
	if s1 != s2 || s1.Packets == 0 {
		t.Errorf("stats not cumulative: %+v then %+v", s2, s1)
	}
}

func TestDropAllUntilAttached(t *testing.T) {
	v := newTestNS(t)
	rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 4, BlockSize: 1 << 16}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rings[0].Close()
	tx := v.sender(t)
	for i := 0; i < 10; i++ {
		if _, err := unix.Write(tx, tcpFrame(1, false, uint32(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if seen := drain(t, rings, 1, 200*time.Millisecond); len(seen) != 0 {
		t.Fatalf("captured before a filter was attached: %v", seen)
	}
	if err := rings[0].DetachFilter(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := unix.Write(tx, tcpFrame(1, false, uint32(100+i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if seen := drain(t, rings, 10, 2*time.Second); len(seen) != 10 {
		t.Fatalf("%d frames after attach", len(seen))
	}
}

// TestDrops fills a small ring without reading it: the kernel drops, and
// its counters say so (Packets includes Drops).
func TestDrops(t *testing.T) {
	v := newTestNS(t)
	rings, err := OpenGroup(Config{Interface: v.rx, NetNS: v.path, NumBlocks: 2, BlockSize: 8192, BlockTimeout: time.Millisecond}, 1, (*Ring).DetachFilter)
	if err != nil {
		t.Fatal(err)
	}
	r := rings[0]
	defer r.Close()
	tx := v.sender(t)
	const sent = 2000
	for i := 0; i < sent; i++ {
		if _, err := unix.Write(tx, tcpFrame(1, false, uint32(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.Drops == 0 || st.Packets != sent || st.FreezeQueue == 0 {
		t.Errorf("stats %+v after %d frames into a 16 KiB ring", st, sent)
	}
	// Next with no wait returns at once; a poll timeout is honoured
	t0 := time.Now()
	for {
		_, ok, err := r.Next(-1)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		r.Release()
	}
	if _, _, err := r.Next(30 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Next took %v", d)
	}
}

func TestOpenErrors(t *testing.T) {
	v := newTestNS(t)
	if err := sh("ip", "-n", v.name, "link", "set", v.tx, "down"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		iface, want string
	}{
		{"nosuch0", "no such interface"},
		{"any", `"any" is not supported`},
		{v.tx, "is down"},
		{"", "no interface"},
	} {
		_, err := OpenGroup(Config{Interface: c.iface, NetNS: v.path}, 1, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.iface, err)
		}
	}
	if _, err := OpenGroup(Config{Interface: v.rx, NetNS: "/nonexistent"}, 1, nil); err == nil {
		t.Error("bad namespace accepted")
	}
}
