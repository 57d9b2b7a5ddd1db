package bpf

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Golden results come from tcpdump, generated once with
//
//	go test ./bpf -run TestGolden -update
//
// (needs tcpdump and libpcap) and stored in testdata/bpf/golden.tsv, so the
// tests need no tcpdump. See bpf/README.md.
var update = flag.Bool("update", false, "regenerate testdata/bpf/golden.tsv with tcpdump")

const testdataDir = "../testdata/bpf"

// testCaptures are copies of /work/shared/corpus captures (attribution in
// testdata/bpf/MANIFEST.tsv).
var testCaptures = []string{
	"ak-twovlan.pcap",                  // QinQ 201/200, 4.4 kB segment
	"zk-vlan-qinqinq.pcap",             // three tags 30/20/10
	"sv-gap-mid-vlan.pcap",             // vlan 6
	"tf-test1-http.pcap",               // HTTP plus UDP, NTP, ICMPv6
	"zk-ipv4frag-inconsistent.pcap",    // IPv4 fragments of TCP
	"ak-bigendian.pcap",                // ICMP only
	"tr-test-mixed.pcap",               // MPLS, IPv6 TCP, odd frames
	"td-bigtcp-ipv6-jumbo.pcap",        // IPv6 hop-by-hop jumbogram, 80 kB
	"zk-truncated-header-snap68.pcap",  // caplen < len
	"ak-tcp-reassembly-synthetic.pcap", // 11 connections
	"sv-http-ipv6-null.pcap",           // DLT_NULL, IPv6
	"tf-test4-ipv6-rawip.pcap",         // LINKTYPE_RAW, IPv6
	"td-mptcp-v1-sll.pcap",             // Linux cooked
	"sv-ipfrag-syn-rawip.pcap",         // DLT_IPV4, fragments
	// tunnels (testdata/tunnels)
	"zk-mpls-in-vlan.pcap",       // MPLS under 802.1Q
	"sv-pppoe-session-http.pcap", // PPPoE session
	"sv-erspan2-two-spans.pcap",  // GRE / ERSPAN II
	"ak-erspan2-vxlan.pcap",      // ERSPAN II / VXLAN
	"sv-vxlan-ssh.pcap",          // VXLAN, DNS and NTP inside
	"td-geneve-ssh.pcap",         // GENEVE with options
	"ak-gtp-ipv6-sll.pcap",       // SLL / GTP-U / IPv6
	"sv-ipv4-in-ipv6.pcap",       // IPv4 in IPv6
	"zk-teredo.pcap",             // Teredo off port 3544
	"zk-gre-sample.pcap",         // GRE, ICMP and UDP inside
}

// testExprs covers every primitive family the capture engine documents and
// every ALU/jump form libpcap emits (neg, mod, xor, div, mul, shifts by X).
var testExprs = []string{
	"tcp",
	"ip",
	"ip6",
	"ip6 and tcp",
	"host 10.180.156.1",
	"src host 172.16.11.12",
	"dst host 216.34.181.45",
	"net 10.0.0.0/8",
	"src net 10.0.0.0/8 and dst port 80",
	"net 172.16.0.0/12 or net 192.168.0.0/16",
	"ip6 net 2001:4958::/32",
	"host 2001:4958:15a0:24:c1b3:b766:7fff:d0b3",
	"port 80",
	"tcp port 80",
	"src port 80",
	"dst port 80 or dst port 8080",
	"portrange 40000-40005",
	"tcp portrange 1-1024",
	"not port 80",
	"(port 80 or port 443) and not host 10.180.156.2",
	"vlan",
	"vlan 6",
	"vlan and tcp",
	"vlan 201 and vlan 200",
	"vlan 30 and vlan 20 and vlan 10 and tcp port 80",
	"vlan and host 1.1.1.1",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[13] & 2 != 0",
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
	"tcp[tcpflags] == tcp-ack",
	"len > 100",
	"len <= 60",
	"greater 200",
	"less 80",
	"ether host 00:11:22:33:44:01",
	"ether src 00:1f:5b:c7:fa:d2",
	"ether[0] & 1 = 0",
	"ether proto 0x86dd",
	"ether multicast",
	"ip proto 6",
	"ip6 proto 6",
	"ip[6:2] & 0x1fff != 0",
	"ip[8] > 60",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
	"(ip[2:2] - ((ip[0] & 0xf) << 2)) - ((tcp[12] & 0xf0) >> 2) != 0",
	"tcp[2:2] % 3 = 1",
	"tcp[0:2] ^ tcp[2:2] > 1000",
	"tcp[14:2] / 2 > 1000",
	"tcp[14:2] * 3 < 1000",
	"tcp[4:4] + -tcp[8:4] != 0",
	"(tcp[13] << (tcp[12] >> 4)) > 64",
	"tcp[14:2] / (tcp[12] >> 4) > 100",
	"tcp[14:2] % (tcp[13] & 3) = 1",
	"udp",
	"icmp",
	"mpls",
	"tcp and ip[6:2] & 0x3fff = 0",
	// tunnels: libpcap's keywords move to the inner packet, the rest tests
	// the outer headers, as in tcpdump
	"vxlan",
	"vxlan and tcp port 80",
	"vxlan 5569041 and tcp",
	"geneve and tcp",
	"geneve 11",
	"mpls and tcp",
	"vlan and mpls and tcp port 80",
	"pppoes and tcp port 80",
	"pppoes 0x2d and tcp",
	"udp port 4789",
	"ip proto 47",
	"ip6 proto 4",
	"tcp port 22",
}

type goldenKey struct{ capture, expr string }

type goldenRow struct {
	err  bool  // tcpdump could not compile the expression
	idx  []int // 0-based indices of the packets tcpdump printed
	line int
}

const goldenFile = "golden.tsv"

func loadCapture(t testing.TB, name string) *pcapFile {
	t.Helper()
	f, err := readPcap(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readGolden(t testing.TB) map[goldenKey]goldenRow {
	t.Helper()
	fh, err := os.Open(filepath.Join(testdataDir, goldenFile))
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./bpf -run TestGolden -update)", err)
	}
	defer fh.Close()
	g := map[goldenKey]goldenRow{}
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields", goldenFile, n)
		}
		row := goldenRow{line: n}
		switch f[2] {
		case "error":
			row.err = true
		case "-":
		default:
			for _, s := range strings.Split(f[2], ",") {
				i, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("%s:%d: %v", goldenFile, n, err)
				}
				row.idx = append(row.idx, i)
			}
		}
		g[goldenKey{f[0], f[1]}] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

var tcpdumpStamp = regexp.MustCompile(`^(\d+)\.000000 `)

// tcpdumpIndices runs tcpdump on a renumbered copy of the capture (packet
// i stamped i seconds) and returns the indices it prints.
func tcpdumpIndices(tcpdump, numbered, expr string) ([]int, error) {
	cmd := exec.Command(tcpdump, "-nn", "-tt", "-q", "-r", numbered, expr)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("tcpdump: %s", strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, err
	}
	var idx []int
	for _, l := range strings.Split(string(out), "\n") {
		if m := tcpdumpStamp.FindStringSubmatch(l); m != nil {
			i, _ := strconv.Atoi(m[1])
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	return idx, nil
}

// TestGolden regenerates golden.tsv with -update, and otherwise checks that
// it covers every capture and expression.
func TestGolden(t *testing.T) {
	if !*update {
		g := readGolden(t)
		for _, c := range testCaptures {
			for _, e := range testExprs {
				if _, ok := g[goldenKey{c, e}]; !ok {
					t.Errorf("golden.tsv lacks %s / %q (go test ./bpf -run TestGolden -update)", c, e)
				}
			}
		}
		return
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Fatalf("-update needs tcpdump (apt-get install tcpdump): %v", err)
	}
	var b strings.Builder
	b.WriteString("# capture\texpression\t0-based indices of the packets `tcpdump -r capture expression` prints (- none, error: does not compile)\n")
	b.WriteString("# generated by: go test ./bpf -run TestGolden -update\n")
	tmp := t.TempDir()
	for _, c := range testCaptures {
		f := loadCapture(t, c)
		numbered := filepath.Join(tmp, c)
		if err := writePcapNumbered(numbered, f); err != nil {
			t.Fatal(err)
		}
		for _, e := range testExprs {
			idx, err := tcpdumpIndices(tcpdump, numbered, e)
			field := "-"
			switch {
			case err != nil:
				t.Logf("%s / %q: %v", c, e, err)
				field = "error"
			case len(idx) > 0:
				s := make([]string, len(idx))
				for i, v := range idx {
					s[i] = strconv.Itoa(v)
				}
				field = strings.Join(s, ",")
			}
			fmt.Fprintf(&b, "%s\t%s\t%s\n", c, e, field)
		}
	}
	if err := os.WriteFile(filepath.Join(testdataDir, goldenFile), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
