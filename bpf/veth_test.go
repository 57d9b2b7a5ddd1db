package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fastsniff/fastsniff/engine/afpacket"
)

// The veth tests send frames across a veth pair inside a network namespace
// the test creates and deletes, with the program attached to an AF_PACKET
// socket on the receiving end. There the kernel has moved the outer VLAN
// tag into skb metadata before the filter runs (BPF_PROG_TEST_RUN cannot
// produce such an skb), which is the case the tag re-insertion exists for.

type vethEnv struct {
	ns       string
	nsPath   string
	txIndex  int
	rxIndex  int
	txSocket int
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNetns runs f on a locked OS thread inside the namespace (the capture
// engine's helper: one implementation of the namespace dance).
func inNetns(path string, f func() error) error { return afpacket.InNetNS(path, f) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func newVethEnv(t *testing.T) *vethEnv {
	t.Helper()
	requireBPF(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip to create a network namespace and veth pair")
	}
	env := &vethEnv{ns: fmt.Sprintf("fsbpf%d", os.Getpid())}
	env.nsPath = "/run/netns/" + env.ns
	_ = ipCmd("netns", "del", env.ns) // stale, from a killed run
	if err := ipCmd("netns", "add", env.ns); err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		if env.txSocket > 0 {
			unix.Close(env.txSocket)
		}
		if err := ipCmd("netns", "del", env.ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	// No IPv6 autoconfiguration chatter on the pair.
	err := inNetns(env.nsPath, func() error {
		for _, f := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+f+"/disable_ipv6", []byte("1"), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Logf("disabling IPv6 in the namespace: %v", err)
	}
	for _, args := range [][]string{
		{"-n", env.ns, "link", "add", "fsbtx", "type", "veth", "peer", "name", "fsbrx"},
		{"-n", env.ns, "link", "set", "fsbtx", "up"},
		{"-n", env.ns, "link", "set", "fsbrx", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	err = inNetns(env.nsPath, func() error {
		tx, err := net.InterfaceByName("fsbtx")
		if err != nil {
			return err
		}
		rx, err := net.InterfaceByName("fsbrx")
		if err != nil {
			return err
		}
		env.txIndex, env.rxIndex = tx.Index, rx.Index
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		env.txSocket = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: tx.Index})
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// receiver opens an AF_PACKET socket on the receiving veth with p attached
// (before bind, so no unfiltered packet is queued) and auxdata on.
func (env *vethEnv) receiver(t *testing.T, p *Program) int {
	return env.receiverType(t, p, unix.SOCK_RAW)
}

func (env *vethEnv) receiverType(t *testing.T, p *Program, typ int) int {
	t.Helper()
	var fd int
	err := inNetns(env.nsPath, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := p.Attach(fd); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: env.rxIndex})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

type rxFrame struct {
	raw      []byte // as the socket returned it
	frame    []byte // with a stripped tag put back, as libpcap delivers it
	origLen  int
	stripped bool
}

// receive reads until want frames came, then briefly for extras.
func receive(t *testing.T, fd, want int) []rxFrame {
	t.Helper()
	var out []rxFrame
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	deadline := time.Now().Add(2 * time.Second)
	for {
		wait := time.Until(deadline)
		if len(out) >= want {
			wait = 30 * time.Millisecond
		}
		if wait <= 0 {
			return out
		}
		tv := unix.NsecToTimeval(wait.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			if len(out) >= want || time.Now().After(deadline) {
				return out
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		f := rxFrame{raw: append([]byte(nil), buf[:n]...), origLen: n}
		f.frame = f.raw
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmsgs {
			if c.Header.Level != unix.SOL_PACKET || c.Header.Type != unix.PACKET_AUXDATA || len(c.Data) < 20 {
				continue
			}
			ne := binary.NativeEndian
			status := ne.Uint32(c.Data[0:])
			f.origLen = int(ne.Uint32(c.Data[4:]))
			tci, tpid := ne.Uint16(c.Data[16:]), ne.Uint16(c.Data[18:])
			if status&unix.TP_STATUS_VLAN_VALID != 0 && n >= 12 {
				if status&unix.TP_STATUS_VLAN_TPID_VALID == 0 {
					tpid = 0x8100
				}
				f.stripped = true
				fr := append([]byte(nil), f.raw[:12]...)
				fr = binary.BigEndian.AppendUint16(fr, tpid)
				fr = binary.BigEndian.AppendUint16(fr, tci)
				f.frame = append(fr, f.raw[12:]...)
				f.origLen += 4
			}
		}
		out = append(out, f)
	}
}

// vethFrames are the frames sent; each payload carries a marker.
func vethFrames() [][]byte {
	c, s := ap("1.1.1.1:12345"), ap("2.2.2.2:80")
	c6, s6 := ap("[2001:db8::1]:12345"), ap("[2001:db8::2]:80")
	type def struct {
		tags  []tag
		v6    bool
		sport uint16
		proto byte
		pay   int
	}
	defs := []def{
		{nil, false, 80, 0, 10},
		{[]tag{{0x8100, 0xa006}}, false, 80, 0, 10}, // vlan 6, PCP 5
		{[]tag{{0x8100, 0x0007}}, false, 22, 0, 10},
		{[]tag{{0x88a8, 0x000a}, {0x8100, 0x0014}}, false, 80, 0, 10}, // 10 / 20
		{[]tag{{0x8100, 0x001e}, {0x8100, 0x0014}, {0x8100, 0x000a}}, false, 80, 0, 10},
		{[]tag{{0x8100, 0x0006}}, true, 80, 0, 10},
		{[]tag{{0x8100, 0x0006}}, false, 80, 17, 10}, // UDP: dropped
		{[]tag{{0x8100, 0x2006}}, false, 80, 0, 1000},
		{nil, true, 443, 0, 10},
		{[]tag{{0x88a8, 0x0006}}, false, 80, 0, 10},
		{[]tag{{0x8100, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}}, false, 80, 0, 10},
		{[]tag{{0x8100, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}, {0x8100, 5}}, false, 80, 0, 10},
		{[]tag{{0x8100, 0x0006}}, false, 80, 0, 0},
	}
	var frames [][]byte
	for i, d := range defs {
		pay := []byte(fmt.Sprintf("fsbpf-%02d-", i))
		pay = append(pay, bytes.Repeat([]byte{'x'}, d.pay)...)
		spec := tcpSpec{src: c, dst: s, flags: 0x18, seq: uint32(i), payload: pay, proto: d.proto}
		if d.sport != 80 {
			spec.dst = ap(fmt.Sprintf("2.2.2.2:%d", d.sport))
		}
		if d.v6 {
			spec.src, spec.dst = c6, ap(fmt.Sprintf("[2001:db8::2]:%d", d.sport))
			_ = s6
			frames = append(frames, ether(d.tags, 0x86dd, spec.ipv6()))
		} else {
			frames = append(frames, ether(d.tags, 0x0800, spec.ipv4()))
		}
	}
	return frames
}

func frameIndex(f []byte) int {
	i := bytes.Index(f, []byte("fsbpf-"))
	if i < 0 || i+8 > len(f) {
		return -1
	}
	var n int
	if _, err := fmt.Sscanf(string(f[i+6:i+8]), "%02d", &n); err != nil {
		return -1
	}
	return n
}

func (env *vethEnv) send(t *testing.T, frames [][]byte) {
	t.Helper()
	for _, f := range frames {
		if _, err := unix.Write(env.txSocket, f); err != nil {
			t.Fatal(err)
		}
	}
}

var vethExprs = []string{
	"",
	"tcp",
	"tcp port 80",
	"vlan",
	"vlan 6",
	"vlan 7 or vlan 10",
	"vlan and tcp port 80",
	"vlan 6 and ip6",
	"vlan 10 and vlan 20 and tcp",
	"vlan 30 and vlan 20 and vlan 10 and tcp port 80",
	"vlan and vlan and vlan and vlan and vlan",
	"vlan and tcp[tcpflags] & tcp-push != 0 and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x66736270",
	"ether[12:2] = 0x88a8",
	"ether[14:2] & 0xfff = 6",
	"ether[14:2] & 0xe000 = 0xa000",
	"ether[13] = 0",
	"ether[11:4] & 0x00ffff00 = 0x00810000",
	"ether[10:4] & 0xff = 0xa0",
	"ether[16:2] = 0x0800",
	"greater 200",
	"less 80",
	"len = 74",
	"ether[(ether[0] & 0) + 12:2] = 0x8100",
	"ether[(ether[0] & 0) + 13:2] = 0x00a0",
	"ether[(ether[0] & 0) + 9:4] & 0xffff = 0x0201",
	"ether[(ether[0] & 0) + 11:4] & 0xffffff = 0x8100a0",
	"ether[(ether[0] & 0) + 14] & 0xe0 = 0x20",
	"ether[(ether[0] & 0) + 15] = 6",
	"ether[(ether[0] & 0) + 16:2] = 0x0800",
	"ether[(ether[0] & 0) + 8:4] = 0x02018100",
}

// TestVethVLAN: on real AF_PACKET traffic, where the kernel strips the
// outer tag, the program accepts exactly the frames the offline Matcher
// accepts on the frames as sent (i.e. tcpdump -r on a capture of the wire).
func TestVethVLAN(t *testing.T) {
	needLibpcap(t)
	env := newVethEnv(t)
	frames := vethFrames()
	strippedSeen := false
	total := 0
	for _, e := range vethExprs {
		p := loadProgram(t, Config{Filter: e})
		fd := env.receiver(t, p)
		m, err := NewMatcher(e, DLTEN10MB)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{}
		for i, f := range frames {
			if m.Match(f) {
				want[i] = true
			}
		}
		env.send(t, frames)
		got := map[int]bool{}
		for _, f := range receive(t, fd, len(want)) {
			i := frameIndex(f.frame)
			if i < 0 {
				continue // not ours
			}
			got[i] = true
			strippedSeen = strippedSeen || f.stripped
			if !bytes.Equal(f.frame, frames[i]) {
				t.Errorf("%q: frame %d came back different:\n got %x\nwant %x", e, i, f.frame, frames[i])
			}
		}
		for i := range frames {
			if got[i] != want[i] {
				t.Errorf("%q: frame %d: kernel passed %v, matcher %v", e, i, got[i], want[i])
			}
		}
		c, err := p.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if c.Passed != uint64(len(want)) || c.Seen-c.NonTCP != c.Passed+c.Filtered {
			t.Errorf("%q: counters %+v, want %d passed", e, c, len(want))
		}
		total += len(want)
		p.Close()
	}
	if !strippedSeen {
		t.Error("the kernel never stripped a VLAN tag: the test did not exercise tag re-insertion")
	}
	if total < len(vethExprs)*2 {
		t.Errorf("weak test: %d frames matched over %d expressions", total, len(vethExprs))
	}
}

// TestVethBypass: bypassed flows, including ones whose outer tag the
// kernel stripped (it is part of the flow key), come back cut to their
// headers; the rest whole. Frames 1, 7, 9 and 12 are one flow (vlan 6; the
// TPID is not part of the key, as in reassembly.Key).
func TestVethBypass(t *testing.T) {
	env := newVethEnv(t)
	frames := vethFrames()
	p := loadProgram(t, Config{})
	fd := env.receiver(t, p)
	keys := map[FlowKey]bool{}
	for _, i := range []int{1, 3, 5, 10} {
		ins := Inspect(frames[i], DLTEN10MB)
		if ins.Class != TCP {
			t.Fatalf("frame %d is %v", i, ins.Class)
		}
		keys[ins.Key] = true
		// Userspace may key by either direction.
		if err := p.Bypass(ins.Key.Reverse()); err != nil {
			t.Fatal(err)
		}
	}
	cutWant := map[int]bool{}
	hitsWant := map[FlowKey]uint64{}
	m, _ := NewMatcher("", DLTEN10MB)
	want := 0
	for i, f := range frames {
		if !m.Match(f) {
			continue
		}
		want++
		if ins := Inspect(f, DLTEN10MB); ins.Class == TCP && keys[ins.Key] {
			cutWant[i] = true
			hitsWant[ins.Key]++
		}
	}
	env.send(t, frames)
	cut := 0
	for _, f := range receive(t, fd, want) {
		i := frameIndex(f.frame)
		if i < 0 {
			// A cut frame may have lost its payload marker: find it by
			// its headers.
			for j := range cutWant {
				ins := Inspect(frames[j], DLTEN10MB)
				if bytes.Equal(f.frame, frames[j][:ins.HeaderLen]) {
					i = j
				}
			}
			if i < 0 {
				continue
			}
		}
		ins := Inspect(frames[i], DLTEN10MB)
		if f.origLen != len(frames[i]) {
			t.Errorf("frame %d: original length %d, want %d", i, f.origLen, len(frames[i]))
		}
		if cutWant[i] {
			cut++
			if len(f.frame) != ins.HeaderLen || !bytes.Equal(f.frame, frames[i][:ins.HeaderLen]) {
				t.Errorf("frame %d: got %d bytes, want its %d header bytes", i, len(f.frame), ins.HeaderLen)
			}
		} else if !bytes.Equal(f.frame, frames[i]) {
			t.Errorf("frame %d: not passed whole (%d of %d bytes)", i, len(f.frame), len(frames[i]))
		}
	}
	if cut != len(cutWant) || cut < 6 {
		t.Errorf("%d bypassed frames came back cut, want %d", cut, len(cutWant))
	}
	c, err := p.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.Bypassed != uint64(len(cutWant)) || c.Passed != uint64(want) {
		t.Errorf("counters %+v: want %d bypassed, %d passed", c, len(cutWant), want)
	}
	for k, n := range hitsWant {
		if hits, ok, err := p.BypassHits(k); err != nil || !ok || hits != n {
			t.Errorf("BypassHits(%v) = %d, %v, %v; want %d", k, hits, ok, err, n)
		}
	}
}

// TestVethRawDgram: on a SOCK_DGRAM socket (data from the IP header on)
// with LinkType DLTRaw, the kernel's stripped tag must not be re-inserted:
// raw-IP filters see the IP header at offset 0 whether or not the frame
// was tagged.
func TestVethRawDgram(t *testing.T) {
	needLibpcap(t)
	env := newVethEnv(t)
	frames := vethFrames()
	// Frames whose IP header directly follows the stripped tag (or the
	// Ethernet header): the ones a SOCK_DGRAM socket sees as IP.
	want := map[int]bool{}
	for _, i := range []int{0, 1, 2, 7, 9, 12} {
		want[i] = true
	}
	p := loadProgram(t, Config{LinkType: DLTRaw, Filter: "dst host 2.2.2.2 and ip[9] = 6"})
	fd := env.receiverType(t, p, unix.SOCK_DGRAM)
	env.send(t, frames)
	got := map[int]bool{}
	for _, f := range receive(t, fd, len(want)) {
		if i := frameIndex(f.raw); i >= 0 {
			got[i] = true
			if f.raw[0]>>4 != 4 {
				t.Errorf("frame %d: SOCK_DGRAM data does not start with IPv4", i)
			}
		}
	}
	for i := range frames {
		if got[i] != want[i] {
			t.Errorf("frame %d: passed %v, want %v", i, got[i], want[i])
		}
	}
}
