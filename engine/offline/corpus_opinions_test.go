package offline_test

// Third opinions: what the captures' own test suites (tcpflow, Zeek,
// Suricata) expect, checked against our output where it is cheap to do so.
// The values are copied from the suites' expected files (see the shared
// corpus's expected/ folder and testdata/pcaps/MANIFEST.tsv for the
// commits).

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
)

func corpusPath(t *testing.T, name string) string {
	t.Helper()
	_, paths := corpusFiles(t)
	p, ok := paths[name]
	if !ok {
		t.Fatalf("%s not in MANIFEST.tsv", name)
	}
	return p
}

// byClient finds our connection whose client is addr:port.
func byClient(t *testing.T, conns []*connOut, client string) *connOut {
	t.Helper()
	ap := netip.MustParseAddrPort(client)
	for _, c := range conns {
		if c.client == ap {
			return c
		}
	}
	t.Fatalf("no connection with client %s", client)
	return nil
}

func missed(c *connOut) (n uint64) {
	return gapSum(c.dir[0].gaps) + gapSum(c.dir[1].gaps)
}

// TestCorpusTcpflow: tcpflow's tests/test1.sh lists the MD5 of every
// direction it reassembles for test1.pcap and test4.pcap; ours must match.
func TestCorpusTcpflow(t *testing.T) {
	type flow struct {
		src, dst string
		md5      string
		length   int // -1: not listed
	}
	cases := map[string][]flow{
		"tf-test1-http.pcap": {
			{"74.125.19.101:80", "192.168.1.102:50956", "ae30a88136feb0655492bdb75e078643", 136},
			{"74.125.19.104:80", "192.168.1.102:50955", "61051e417d34e1354559e3a8901d19d3", 2792},
			{"192.168.1.102:50955", "74.125.19.104:80", "14e9c335bf54dc4652999e25d99fecfe", 655},
			{"192.168.1.102:50956", "74.125.19.101:80", "78b8073093d107207327103e80fbdf43", 604},
		},
		"tf-test4-ipv6-rawip.pcap": {
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51391", "[2001:67c:1220:809::93e5:916]:80", "2600d38f9524c66f190212bbdb6f3c96", -1},
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51392", "[2001:67c:1220:809::93e5:916]:80", "ea4d328b4c831f6cb54772bcaa206ad1", -1},
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51393", "[2001:67c:1220:809::93e5:916]:80", "775823553ec206c97c079ab054869c80", -1},
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51394", "[2001:67c:1220:809::93e5:916]:80", "4b12431fb1403ed45a0cdd264c555c21", -1},
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51395", "[2001:67c:1220:809::93e5:916]:80", "3a2c8438a3e42e617b0d134ae9bb2f0a", -1},
			{"[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51396", "[2001:67c:1220:809::93e5:916]:80", "547bdc57f5ac3bac3b6620afc19d5a00", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51391", "2a8f64558ad7a1731e4950a3f7f16913", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51392", "92e4df1f268a7f7b1244b4ddc67120d3", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51393", "873ce29539afc9bd72d65c11d9aef2f7", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51394", "c043c19025e6ba8278b7ddb6f08d68d3", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51395", "ca32de2d5504c6f8dc32610d94046106", -1},
			{"[2001:67c:1220:809::93e5:916]:80", "[2001:0:53aa:64c:422:2ece:a29c:9cf6]:51396", "b4772e037e05aaf315aaad911a59650d", -1},
		},
	}
	for name, flows := range cases {
		conns, _ := runCapture(t, corpusPath(t, name), 1)
		for _, f := range flows {
			src, dst := netip.MustParseAddrPort(f.src), netip.MustParseAddrPort(f.dst)
			found := false
			for _, c := range conns {
				for d := 0; d < 2; d++ {
					from, to := c.client, c.server
					if d == 1 {
						from, to = to, from
					}
					if from != src || to != dst {
						continue
					}
					found = true
					if c.md5s[d] != f.md5 || (f.length >= 0 && c.dir[d].n != uint64(f.length)) {
						t.Errorf("%s %s>%s: md5 %s, %d bytes; tcpflow %s, %d", name, f.src, f.dst, c.md5s[d], c.dir[d].n, f.md5, f.length)
					}
				}
			}
			if !found {
				t.Errorf("%s: no direction %s>%s", name, f.src, f.dst)
			}
		}
	}
}

// TestCorpusZeek: missed bytes, stream sizes and histories from Zeek's
// baselines (conn.log missed_bytes, orig_bytes/resp_bytes, history).
func TestCorpusZeek(t *testing.T) {
	t.Run("ftp-bigtransfer", func(t *testing.T) {
		conns, _ := runCapture(t, corpusPath(t, "zk-ftp-5gb-seq-wrap-truncated.pcap"), 1)
		c := byClient(t, conns, "192.168.56.1:59764")
		// Zeek: orig_bytes 0, resp_bytes 5416666670 (offsets past 4 GiB:
		// the sequence numbers wrapped correctly), missed_bytes 5416642848.
		if c.dir[0].end != 0 || c.dir[1].end != 5416666670 {
			t.Errorf("stream ends %d/%d, Zeek 0/5416666670", c.dir[0].end, c.dir[1].end)
		}
		if got := missed(c); got != 5416642848 {
			t.Errorf("missed %d bytes; Zeek 5416642848", got)
		}
	})
	t.Run("miss-end-data", func(t *testing.T) {
		conns, _ := runCapture(t, corpusPath(t, "zk-miss-end-data.pcap"), 1)
		c := byClient(t, conns, "192.168.122.230:60648")
		if got := missed(c); got != 2902 || c.dir[0].end != 538 || c.dir[1].end != 2902 || c.history != "ShADafgF" {
			t.Errorf("missed %d, bytes %d/%d, history %s; Zeek 2902, 538/2902, ShADafgF", got, c.dir[0].end, c.dir[1].end, c.history)
		}
		// Zeek's content_gap: responder, offset 1, length 2902 (Zeek counts
		// the SYN); the whole response is one hole at stream offset 0.
		if gapString(c.dir[1].gaps) != "0+2902" {
			t.Errorf("server holes %s, want 0+2902", gapString(c.dir[1].gaps))
		}
	})
	t.Run("rxmit-headers-only", func(t *testing.T) {
		conns, _ := runCapture(t, corpusPath(t, "zk-retransmit-headers-only.pcap"), 1)
		c := byClient(t, conns, "10.0.88.85:50368")
		if got := missed(c); got != 24257 || c.dir[0].end != 474 || c.dir[1].end != 23783 {
			t.Errorf("missed %d, bytes %d/%d; Zeek 24257, 474/23783", got, c.dir[0].end, c.dir[1].end)
		}
	})
	t.Run("rst-inject-after-syn", func(t *testing.T) {
		// Zeek: orig size 175 after an injected RST+ACK right after the SYN
		conns, _ := runCapture(t, corpusPath(t, "zk-rst-inject-after-syn.pcap"), 1)
		c := byClient(t, conns, "1.2.0.2:2527")
		if c.dir[0].n != 175 || c.dir[1].n != 0 {
			t.Errorf("delivered %d/%d, Zeek sizes 175/0", c.dir[0].n, c.dir[1].n)
		}
	})
	t.Run("quantum-insert", func(t *testing.T) {
		// Zeek's rexmit_inconsistency: t1 (first seen, the injected
		// answer) vs t2 (the real server's). First seen wins.
		conns, _ := runCapture(t, corpusPath(t, "zk-quantum-insert.pcap"), 1)
		c := byClient(t, conns, "178.200.100.200:39976")
		t1 := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nBANG!"
		if !bytes.HasPrefix(c.dir[1].data, []byte(t1)) {
			t.Errorf("server stream starts %q, want Zeek's first-seen %q", head(c.dir[1].data, 60), t1)
		}
	})
	t.Run("reassembly-inconsistent", func(t *testing.T) {
		conns, _ := runCapture(t, corpusPath(t, "zk-reassembly-inconsistent.pcap"), 1)
		c := byClient(t, conns, "63.193.213.194:2564")
		data := string(c.dir[0].data)
		// the two places where tshark has the retransmission: offsets in
		// the gap-free stream; what we have is the first copy captured,
		// the "first" strings of Zeek's rexmit_inconsistency lines
		for _, x := range []struct {
			off        int
			ours, rexm string
		}{
			{13318, "dgphrodofqhqlenhfdqhqfgs", "orgmmpelofildfpqssidkpdg"},
			{28717, ">\r\n<g:searchrequest xmlns:g=", "igplqgeqsonkllfshdjplhjspmde"},
		} {
			if len(data) < x.off+len(x.ours) || data[x.off:x.off+len(x.ours)] != x.ours {
				t.Errorf("client stream at %d: %q, want first-seen %q (tshark: %q)", x.off, head([]byte(data[min(x.off, len(data)):]), len(x.ours)), x.ours, x.rexm)
			}
		}
	})
	// the two directions travel on VLANs 81 and 80: one connection, joined
	// across the VLANs (the default) or with IgnoreVLAN, and then tshark's
	// bytes, Zeek's history and missed_bytes exactly, with one worker or
	// three
	for name, cfg := range map[string]offline.Config{
		"ldap-gap-vlan-join":   {Workers: 1},
		"ldap-gap-vlan-join-3": {Workers: 3},
		"ldap-gap-ignore-vlan": {Workers: 1, Reassembly: reassembly.Config{IgnoreVLAN: true}},
	} {
		t.Run(name, func(t *testing.T) {
			conns, _ := runCaptureCfg(t, corpusPath(t, "zk-ldap-gap-126idb.pcapng"), cfg)
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			c := conns[0]
			want := [2]string{"4a86a41eb9075f9cbae6157e7c131847408cdf94989f9aacb2bf22457b949d75", "6062db71a8772d650194666470db40d4bf97d623ef186d567109648cd613047f"}
			if c.sha != want || c.history != "ShADadgtFr" || missed(c) != 1342 || c.reason != reassembly.ReasonRST {
				t.Errorf("sha %v history %s missed %d reason %s; want tshark's %v, Zeek's ShADadgtFr and 1342, rst", c.sha, c.history, missed(c), c.reason, want)
			}
			if gapString(c.dir[1].gaps) != "210+1342" || c.dir[0].unacked+c.dir[1].unacked != 0 {
				t.Errorf("server holes %s unacked %d/%d; want tshark's 210+1342, 0/0", gapString(c.dir[1].gaps), c.dir[0].unacked, c.dir[1].unacked)
			}
		})
	}
}

// TestCorpusSuricata: stream payloads suricata-verify expects.
func TestCorpusSuricata(t *testing.T) {
	t.Run("gap-mid", func(t *testing.T) {
		// eve-payload-05-tcp-data-gap: "VERY[4 bytes missing]DATA"
		conns, _ := runCapture(t, corpusPath(t, "sv-gap-mid-vlan.pcap"), 1)
		c := byClient(t, conns, "1.1.1.1:12345")
		if string(c.dir[0].data) != "VERYDATA" || gapString(c.dir[0].gaps) != "4+4" {
			t.Errorf("client stream %q holes %s, want VERY[4 missing]DATA", c.dir[0].data, gapString(c.dir[0].gaps))
		}
		if len(c.vlans) != 1 || c.vlans[0] != 6 {
			t.Errorf("vlans %v, want [6]", c.vlans)
		}
	})
	t.Run("overlap-policy", func(t *testing.T) {
		// eve-payload-01 (default policy) expects GOOD; -02 (old-linux)
		// EVIL: our OverlapFirst / OverlapLast
		for _, tc := range []struct {
			pol  reassembly.OverlapPolicy
			want string
		}{{reassembly.OverlapFirst, "GOOD"}, {reassembly.OverlapLast, "EVIL"}} {
			conns, _ := runCaptureCfg(t, corpusPath(t, "sv-overlap-exact-good-evil-vlan.pcap"),
				offline.Config{Workers: 1, Reassembly: reassembly.Config{Overlap: tc.pol}})
			c := byClient(t, conns, "1.1.1.1:12345")
			if string(c.dir[0].data) != tc.want {
				t.Errorf("overlap policy %d: client stream %q, want %q", tc.pol, c.dir[0].data, tc.want)
			}
		}
	})
	t.Run("rst-unacked", func(t *testing.T) {
		// tcp-rst-unacked-stream-01: the server sends 17 bytes, the
		// client's RST ACKs 7: we deliver all 17, the last 10 flagged
		// Unacked; the RST's own 13 bytes are not stream data.
		conns, _ := runCapture(t, corpusPath(t, "sv-rst-unacked-data.pcap"), 1)
		c := byClient(t, conns, "1.1.1.1:12345")
		if c.dir[1].n != 17 || c.dir[1].unacked != 10 || c.dir[1].firstUnacked != 7 || c.dir[0].n != 0 || c.reason != reassembly.ReasonRST {
			t.Errorf("server %d bytes, %d unacked from %d; client %d; reason %s", c.dir[1].n, c.dir[1].unacked, c.dir[1].firstUnacked, c.dir[0].n, c.reason)
		}
	})
}

// TestCorpusGzip: a gzipped capture reads like the plain one.
func TestCorpusGzip(t *testing.T) {
	plain := corpusPath(t, "tr-test-mixed.pcap")
	raw, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.Copy(zw, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "tr-test-mixed.pcap.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, sa := runCapture(t, plain, 1)
	b, sb := runCapture(t, gz, 1)
	fa, fb := fingerprints(a), fingerprints(b)
	if len(fa) != 7 || strings.Join(fa, "\n") != strings.Join(fb, "\n") || sa.Packets != sb.Packets || sa.Packets != 179 {
		t.Errorf("plain: %d connections, %d packets; gzip: %d, %d", len(fa), sa.Packets, len(fb), sb.Packets)
	}
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
