package live

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// The live tests replay captures with tcpreplay into one end of a veth pair
// inside a network namespace the test creates (and deletes, also on
// failure), and capture on the other end. The capture end has no address,
// so nothing answers the replayed packets; IPv6 is off in the namespace so
// nothing else talks on the pair.

// vethNS is a namespace with a veth pair: Tx (replay into it) and Rx
// (capture on it).
type vethNS struct {
	Name, Path string
	Tx, Rx     string
}

var nsSeq atomic.Int32

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace, AF_PACKET sockets and an eBPF program")
	}
	for _, tool := range []string{"ip", "tcpreplay", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newVethNS creates the namespace and the pair, offloads off on the sending
// side (no TSO/GSO super-frames, no GRO merging on either side), MTU at the
// maximum so that oversized frames of a capture can be replayed.
func newVethNS(t testing.TB) *vethNS {
	t.Helper()
	requireRoot(t)
	v := &vethNS{Name: fmt.Sprintf("fslive%d-%d", os.Getpid(), nsSeq.Add(1)), Tx: "fltx", Rx: "flrx"}
	v.Path = "/run/netns/" + v.Name
	_ = run("ip", "netns", "del", v.Name)
	if err := run("ip", "netns", "add", v.Name); err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := run("ip", "netns", "del", v.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ns := []string{"ip", "netns", "exec", v.Name}
	steps := [][]string{
		append(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"),
		append(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"),
		{"ip", "-n", v.Name, "link", "add", v.Tx, "mtu", "65535", "type", "veth", "peer", "name", v.Rx, "mtu", "65535"},
		append(ns, "ethtool", "-K", v.Tx, "tso", "off", "gso", "off", "gro", "off"),
		append(ns, "ethtool", "-K", v.Rx, "gro", "off"),
		{"ip", "-n", v.Name, "link", "set", v.Tx, "up"},
		{"ip", "-n", v.Name, "link", "set", v.Rx, "up"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// replay sends file into Tx with tcpreplay (extra flags such as
// "--mbps=200" or "--topspeed").
func (v *vethNS) replay(t testing.TB, file string, flags ...string) {
	t.Helper()
	args := append([]string{"ip", "netns", "exec", v.Name, "tcpreplay", "-q", "-i", v.Tx}, flags...)
	args = append(args, file)
	if err := run(args...); err != nil {
		t.Fatal(err)
	}
}
