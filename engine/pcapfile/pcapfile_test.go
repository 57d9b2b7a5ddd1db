package pcapfile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
)

const dir = "../../testdata/decode/"

// decoded is one packet read and decoded.
type decoded struct {
	pkt pcapfile.Packet
	res decode.Result
	why decode.Reason
	seg reassembly.Segment
}

// readAll reads and decodes every packet of paths, batch packets at a time,
// copying what it keeps.
func readAll(t *testing.T, batch int, paths ...string) ([]decoded, decode.Stats, []error) {
	t.Helper()
	r, err := pcapfile.Open(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := decode.New(decode.Config{})
	b := make([]pcapfile.Packet, batch)
	var out []decoded
	var errs []error
	for {
		n, err := r.ReadBatch(b)
		if err == io.EOF {
			break
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("error with n = %d", n)
			}
			errs = append(errs, err)
			continue
		}
		for _, p := range b[:n] {
			if len(p.Data) != p.CaptureLen || p.OrigLen < p.CaptureLen {
				t.Fatalf("packet lengths %d %d %d", len(p.Data), p.CaptureLen, p.OrigLen)
			}
			var x decoded
			x.res, x.why = d.Decode(p.Link, p.Data, p.OrigLen, p.TS, &x.seg)
			x.seg.Payload = append([]byte(nil), x.seg.Payload...)
			x.pkt = p
			x.pkt.Data = append([]byte(nil), p.Data...)
			out = append(out, x)
		}
	}
	if n, err := r.ReadBatch(b); n != 0 || err != io.EOF {
		t.Fatalf("after EOF: %d %v", n, err)
	}
	return out, d.Stats(), errs
}

func vlans(v ...uint16) []uint16 { return v }

func eqU16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCorpus reads the test captures and checks counts and fields against
// tshark 4.x / tcpdump 4.99 (expectations written down, not computed).
func TestCorpus(t *testing.T) {
	type check func(t *testing.T, p []decoded, st decode.Stats)
	for _, c := range []struct {
		file    string
		packets int
		links   map[decode.LinkType]int
		tcp     int    // ResultTCP (tshark -Y tcp, fragments counted once reassembled)
		firstTS string // tshark frame.time_epoch of the first packet
		check   check
	}{
		{"ak-bigendian.pcap", 2, map[decode.LinkType]int{decode.LinkEthernet: 2}, 0, "1335958313.152630", func(t *testing.T, p []decoded, st decode.Stats) {
			if st.NotTCP != 2 || p[0].pkt.CaptureLen != 98 {
				t.Errorf("ICMP: %+v", st)
			}
		}},
		{"ak-twovlan.pcap", 6, map[decode.LinkType]int{decode.LinkEthernet: 6}, 6, "1456042921.641303", func(t *testing.T, p []decoded, st decode.Stats) {
			for _, x := range p {
				if !eqU16(x.seg.VLANs.Slice(), vlans(201, 200)) {
					t.Errorf("VLANs %v", x.seg.VLANs.Slice())
				}
			}
			if p[0].seg.WScale != 7 || p[1].seg.WScale != 9 || p[2].seg.WScale != -1 {
				t.Errorf("wscale %d %d %d", p[0].seg.WScale, p[1].seg.WScale, p[2].seg.WScale)
			}
			if len(p[5].seg.Payload) != 4344 || p[5].seg.SrcPort != 80 || len(p[3].seg.Payload) != 113 {
				t.Errorf("payloads %d %d", len(p[3].seg.Payload), len(p[5].seg.Payload))
			}
		}},
		{"zk-vlan-qinqinq.pcap", 14, map[decode.LinkType]int{decode.LinkEthernet: 14}, 14, "1362692526.869344", func(t *testing.T, p []decoded, st decode.Stats) {
			for _, x := range p {
				if !eqU16(x.seg.VLANs.Slice(), vlans(30, 20, 10)) {
					t.Errorf("VLANs %v", x.seg.VLANs.Slice())
				}
			}
			if p[0].seg.WScale != 4 || p[1].seg.WScale != 7 || p[0].seg.Seq != 4263588410 || p[0].seg.SrcPort != 59856 {
				t.Errorf("SYN %+v", p[0].seg)
			}
			if a := netip.AddrFrom16(p[0].seg.Src).Unmap().String(); a != "141.142.228.5" {
				t.Errorf("src %s", a)
			}
		}},
		{"sv-gap-mid-vlan.pcap", 7, map[decode.LinkType]int{decode.LinkEthernet: 7}, 7, "1700475696.536896", func(t *testing.T, p []decoded, st decode.Stats) {
			if !eqU16(p[0].seg.VLANs.Slice(), vlans(6)) {
				t.Errorf("VLANs %v", p[0].seg.VLANs.Slice())
			}
		}},
		{"td-bigtcp-ipv6-jumbo.pcap", 1, map[decode.LinkType]int{decode.LinkEthernet: 1}, 1, "1759760007.172200", func(t *testing.T, p []decoded, st decode.Stats) {
			s := p[0].seg
			if !s.V6 || len(s.Payload) != 80000 || s.Truncated != 0 || s.SrcPort != 41851 || s.DstPort != 43913 || s.Seq != 592820498 || st.Jumbograms != 1 || p[0].pkt.OrigLen != 80094 {
				t.Errorf("jumbogram: payload %d, %+v", len(s.Payload), st)
			}
		}},
		{"td-tso-iplen0.pcap", 1, map[decode.LinkType]int{decode.LinkEthernet: 1}, 1, "1348084214.587897", func(t *testing.T, p []decoded, st decode.Stats) {
			s := p[0].seg
			if len(s.Payload) != 1976 || s.Truncated != 0 || s.SrcPort != 39556 || s.DstPort != 8080 || s.Seq != 1891338696 || st.IPLenZero != 1 {
				t.Errorf("TSO: payload %d, %+v", len(s.Payload), st)
			}
		}},
		{"sv-sll2-gro-large-first12.pcap", 12, map[decode.LinkType]int{decode.LinkLinuxSLL2: 12}, 12, "1736381483.613927", func(t *testing.T, p []decoded, st decode.Stats) {
			if p[0].seg.WScale != 7 || len(p[11].seg.Payload) != 11584 || p[11].seg.Seq != 845492346 || len(p[7].seg.Payload) != 7240 {
				t.Errorf("SLL2: %d %d", p[0].seg.WScale, len(p[11].seg.Payload))
			}
		}},
		{"td-mptcp-v1-sll.pcap", 20, map[decode.LinkType]int{decode.LinkLinuxSLL: 20}, 20, "1578930666.676845", func(t *testing.T, p []decoded, st decode.Stats) {
			if p[0].seg.WScale != 8 || p[0].seg.SrcPort != 33306 || p[0].seg.DstPort != 10004 {
				t.Errorf("SLL: %+v", p[0].seg)
			}
		}},
		{"sv-http-ipv6-null.pcap", 14, map[decode.LinkType]int{decode.LinkNull: 14}, 14, "1626868686.228067", func(t *testing.T, p []decoded, st decode.Stats) {
			if !p[0].seg.V6 || netip.AddrFrom16(p[0].seg.Src).String() != "::1" {
				t.Errorf("null/IPv6: %+v", p[0].seg)
			}
		}},
		{"sv-http-gap-body-null.pcap", 31, map[decode.LinkType]int{decode.LinkNull: 31}, 31, "1594625943.020925", nil},
		{"sv-rawip-sack-keepalive.pcap", 42, map[decode.LinkType]int{decode.LinkRaw: 42}, 42, "1571309124.735551", nil},
		{"sniffer-02-chunked-rawip.pcap", 10, map[decode.LinkType]int{decode.LinkRaw: 10}, 10, "1131119068.000000", func(t *testing.T, p []decoded, st decode.Stats) {
			if a := netip.AddrFrom16(p[0].seg.Src).Unmap().String(); a != "192.0.2.1" {
				t.Errorf("src %s", a)
			}
		}},
		{"sniffer-03-keepalive.pcap", 12, map[decode.LinkType]int{decode.LinkEthernet: 12}, 10, "1131119068.067107", func(t *testing.T, p []decoded, st decode.Stats) {
			if p[0].res != decode.ResultNotTCP || p[1].res != decode.ResultNotTCP || st.NotIP != 0 {
				t.Errorf("DNS: %v %v", p[0].res, p[1].res)
			}
		}},
		{"sv-ipfrag-syn-rawip.pcap", 3, map[decode.LinkType]int{decode.LinkIPv4: 3}, 1, "1712909272.720143", func(t *testing.T, p []decoded, st decode.Stats) {
			s := p[2].seg
			if p[0].res != decode.ResultFragment || p[1].res != decode.ResultFragment || s.Flags != reassembly.SYN ||
				s.SrcPort != 12345 || s.DstPort != 8080 || s.Seq != 1 || s.WScale != 14 || st.FragReassembled != 1 {
				t.Errorf("fragmented SYN: %+v %+v", s, st)
			}
		}},
		{"zk-ipv4frag-inconsistent.pcap", 6, map[decode.LinkType]int{decode.LinkEthernet: 6}, 3, "1020580534.846229", func(t *testing.T, p []decoded, st decode.Stats) {
			// tshark's reassembly (ref/.../stream1.c2s.bin): the fragment at
			// offset 24 arrived last but starts lowest, so it wins [48,72).
			want := "GET /msadc/..%2f../..%2f../.RKNWUrdooM+WskO2IiALQTI\x00d.exe?/c+dir+c:\\\n"
			if s := p[4].seg; string(s.Payload) != want || s.Seq != 14715173 || s.SrcPort != 7790 {
				t.Errorf("reassembled %q", s.Payload)
			}
			if st.Fragment != 3 || st.FragReassembled != 1 || st.FragOverlaps != 1 || st.FragConflicts != 1 || st.FragPending != 0 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"zk-truncated-header-snap68.pcap", 24, map[decode.LinkType]int{decode.LinkEthernet: 24}, 24, "1103139821.634774", func(t *testing.T, p []decoded, st decode.Stats) {
			// Packet 1: SYN with options cut at 14 of 20 bytes.
			if s := p[0].seg; s.Flags != reassembly.SYN|reassembly.ECE|reassembly.CWR || s.Payload != nil || s.Truncated != 0 || s.Seq != 1041724894 {
				t.Errorf("SYN %+v", s)
			}
			// Packet 4: 84 payload bytes, none captured.
			if s := p[3].seg; len(s.Payload) != 0 || s.Truncated != 84 {
				t.Errorf("packet 4 %+v", s)
			}
			if st.TCPHeaderCut != 1 || st.TruncatedBytes != 605 || st.SnapCutPackets != 24 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"zk-retransmit-headers-only.pcap", 39, map[decode.LinkType]int{decode.LinkEthernet: 39}, 39, "1285862902.700271", func(t *testing.T, p []decoded, st decode.Stats) {
			if st.TruncatedBytes != 28547 || p[3].seg.Truncated != 474 || len(p[3].seg.Payload) != 0 {
				t.Errorf("headers only: %d %+v", p[3].seg.Truncated, st)
			}
		}},
		{"gp-pcapng-be-multisection.pcapng", 8, map[decode.LinkType]int{decode.LinkEthernet: 6, decode.LinkNull: 2}, 0, "1340954905.298858", func(t *testing.T, p []decoded, st decode.Stats) {
			if p[0].pkt.CaptureLen != 96 || p[0].pkt.OrigLen != 314 || p[2].pkt.Link != decode.LinkNull {
				t.Errorf("pcapng: %+v %v", p[0].pkt, p[2].pkt.Link)
			}
		}},
		{"zk-ldap-gap-126idb.pcapng", 18, map[decode.LinkType]int{decode.LinkEthernet: 18}, 18, "1725966494.956327", func(t *testing.T, p []decoded, st decode.Stats) {
			s := p[0].seg
			if !s.V6 || s.SrcPort != 49980 || s.DstPort != 389 || netip.AddrFrom16(s.Dst).String() != "2a00:6020:ad0b:8380::10" {
				t.Errorf("ldap %+v", s)
			}
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			p, st, errs := readAll(t, 5, dir+c.file)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if len(p) != c.packets || int(st.Packets) != c.packets {
				t.Fatalf("%d packets, want %d", len(p), c.packets)
			}
			links := map[decode.LinkType]int{}
			for _, x := range p {
				links[x.pkt.Link]++
			}
			if len(links) != len(c.links) {
				t.Errorf("links %v, want %v", links, c.links)
			}
			for l, n := range c.links {
				if links[l] != n {
					t.Errorf("links %v, want %v", links, c.links)
				}
			}
			if int(st.TCP) != c.tcp || st.Malformed != 0 || st.ShortFrames != 0 {
				t.Errorf("%d TCP (%d malformed), want %d", st.TCP, st.Malformed, c.tcp)
			}
			if ts := time.Unix(0, p[0].pkt.TS).UTC().Format("15:04:05.000000"); c.firstTS != "" {
				var sec, usec int64
				if _, err := fmtSscanf(c.firstTS, &sec, &usec); err != nil {
					t.Fatal(err)
				}
				if p[0].pkt.TS != sec*1e9+usec*1e3 {
					t.Errorf("first TS %d (%s), want %s", p[0].pkt.TS, ts, c.firstTS)
				}
			}
			if c.check != nil {
				c.check(t, p, st)
			}
		})
	}
}

// fmtSscanf parses "sec.usec".
func fmtSscanf(s string, sec, usec *int64) (int, error) {
	a, b, ok := strings.Cut(s, ".")
	if !ok || len(b) != 6 {
		return 0, errors.New("bad time " + s)
	}
	for _, c := range a {
		*sec = *sec*10 + int64(c-'0')
	}
	for _, c := range b {
		*usec = *usec*10 + int64(c-'0')
	}
	return 2, nil
}

// TestSameAsPcapgo: every packet's bytes, lengths and time equal what
// pcapgo's allocating reader returns, whatever the batch size, so the arena
// copies are right and stay valid for the whole batch.
func TestSameAsPcapgo(t *testing.T) {
	for _, f := range []string{"sv-rawip-sack-keepalive.pcap", "td-bigtcp-ipv6-jumbo.pcap", "sv-sll2-gro-large-first12.pcap", "zk-ldap-gap-126idb.pcapng"} {
		var want [][]byte
		var wantCI []gopacket.CaptureInfo
		fh, err := os.Open(dir + f)
		if err != nil {
			t.Fatal(err)
		}
		var src gopacket.PacketDataSource
		if strings.HasSuffix(f, ".pcapng") {
			src, err = pcapgo.NewNgReader(fh, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		} else {
			src, err = pcapgo.NewReader(fh)
		}
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, err := src.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, data)
			wantCI = append(wantCI, ci)
		}
		fh.Close()
		for _, bs := range []int{1, 3, 64} {
			r, err := pcapfile.Open(dir + f)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]pcapfile.Packet, bs)
			i := 0
			for {
				n, err := r.ReadBatch(b)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				// Check the whole batch after it was read: earlier packets
				// must not have been overwritten by later ones.
				for _, p := range b[:n] {
					if !bytes.Equal(p.Data, want[i]) || p.OrigLen != wantCI[i].Length || p.TS != wantCI[i].Timestamp.UnixNano() {
						t.Fatalf("%s batch %d: packet %d differs", f, bs, i)
					}
					i++
				}
			}
			if i != len(want) {
				t.Errorf("%s: %d packets, want %d", f, i, len(want))
			}
			r.Close()
		}
	}
}

func TestMultipleFilesAndGzip(t *testing.T) {
	tmp := t.TempDir()
	gz := filepath.Join(tmp, "twovlan.pcap.gz")
	writeGzip(t, gz, dir+"ak-twovlan.pcap")
	ngz := filepath.Join(tmp, "ldap-no-suffix") // gzip found by magic, not name
	writeGzip(t, ngz, dir+"zk-ldap-gap-126idb.pcapng")
	p, st, errs := readAll(t, 4, dir+"ak-bigendian.pcap", gz, dir+"gp-pcapng-be-multisection.pcapng", ngz, dir+"td-tso-iplen0.pcap")
	if len(errs) != 0 || len(p) != 2+6+8+18+1 || st.TCP != 6+18+1 {
		t.Fatalf("%d packets, %d TCP, %v", len(p), st.TCP, errs)
	}
	if !eqU16(p[2].seg.VLANs.Slice(), vlans(201, 200)) || p[8].pkt.Link != decode.LinkEthernet || p[10].pkt.Link != decode.LinkNull {
		t.Errorf("order or fields wrong")
	}
}

func writeGzip(t *testing.T, dst, src string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pcapBytes builds a classic pcap file by hand.
func pcapBytes(order binary.AppendByteOrder, nano bool, snaplen, link uint32, recs ...[]byte) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, snaplen)
	b = order.AppendUint32(b, link)
	for i, r := range recs {
		b = order.AppendUint32(b, 1700000000+uint32(i))
		b = order.AppendUint32(b, 123456789%1000000+uint32(nanoOr(nano)))
		b = order.AppendUint32(b, uint32(len(r)))
		b = order.AppendUint32(b, uint32(len(r))+10)
		b = append(b, r...)
	}
	return b
}

func nanoOr(nano bool) int {
	if nano {
		return 123000000 // 123456789 in total
	}
	return 0
}

func TestByteOrdersAndResolutions(t *testing.T) {
	tmp := t.TempDir()
	recs := [][]byte{bytes.Repeat([]byte{1}, 60), bytes.Repeat([]byte{2}, 61)}
	for _, c := range []struct {
		name  string
		order binary.AppendByteOrder
		nano  bool
		ns    int64
	}{
		{"le-micro", binary.LittleEndian, false, 456789000},
		{"be-micro", binary.BigEndian, false, 456789000},
		{"le-nano", binary.LittleEndian, true, 123456789},
		{"be-nano", binary.BigEndian, true, 123456789},
	} {
		f := filepath.Join(tmp, c.name+".pcap")
		os.WriteFile(f, pcapBytes(c.order, c.nano, 65535, 101, recs...), 0o644)
		r, err := pcapfile.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]pcapfile.Packet, 4)
		n, err := r.ReadBatch(b)
		if err != nil || n != 2 {
			t.Fatalf("%s: %d %v", c.name, n, err)
		}
		for i, p := range b[:n] {
			if p.TS != (1700000000+int64(i))*1e9+c.ns || p.Link != decode.LinkRaw || !bytes.Equal(p.Data, recs[i]) || p.OrigLen != len(recs[i])+10 {
				t.Errorf("%s: packet %d %+v", c.name, i, p)
			}
		}
	}
}

func TestBadFiles(t *testing.T) {
	tmp := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := pcapBytes(binary.LittleEndian, false, 65535, 1, make([]byte, 60))
	ng, _ := os.ReadFile(dir + "gp-pcapng-be-multisection.pcapng")
	for _, c := range []struct {
		path string
		want string
	}{
		{filepath.Join(tmp, "missing.pcap"), "pcapfile: " + tmp + "/missing.pcap: no such file or directory"},
		{write("empty.pcap", nil), "empty.pcap: empty file"},
		{write("page.pcap", []byte("<html><body>nope</body></html>")), "page.pcap: not a pcap or pcapng file (magic 0x3c68746d)"},
		{write("tiny.pcap", []byte{0xd4, 0xc3}), "tiny.pcap: not a pcap or pcapng file (only 2 bytes)"},
		{write("short-header.pcap", good[:10]), "short-header.pcap: truncated pcap file header"},
		{write("short-section.pcapng", ng[:10]), "short-section.pcapng: truncated pcapng section header"},
		{write("link.pcap", pcapBytes(binary.LittleEndian, false, 65535, 105, make([]byte, 60))), "link.pcap: unsupported link type 105 (802.11)"},
		{write("link2.pcap", pcapBytes(binary.LittleEndian, false, 65535, 4000, make([]byte, 60))), "link2.pcap: unsupported link type 4000"},
		{write("kuz.pcap", append([]byte{0x34, 0xcd, 0xb2, 0xa1}, good[4:]...)), "kuz.pcap: unsupported pcap variant"},
		{write("version.pcap", append(append([]byte(nil), good[:4]...), append([]byte{9, 0}, good[6:]...)...)), "version.pcap: bad pcap file header: unknown major version 9"},
		{write("notgz.pcap.gz", []byte{0x1f, 0x8b, 1, 2, 3}), "notgz.pcap.gz: gzip: "},
		{write("gz-html.gz", gzipped([]byte("<html></html>"))), "gz-html.gz: not a pcap or pcapng file (magic 0x3c68746d) (in gzip)"},
		{tmp, tmp + ": is a directory"},
	} {
		_, err := pcapfile.Open(dir+"ak-twovlan.pcap", c.path)
		if err == nil {
			t.Errorf("%s: no error", c.path)
			continue
		}
		var fe *pcapfile.FileError
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "pcapfile: ") || strings.Contains(err.Error(), "\n") || !errors.As(err, &fe) || fe.Path != c.path {
			t.Errorf("error %q, want %q", err, c.want)
		}
	}
	if _, err := pcapfile.Open(); err == nil {
		t.Error("Open() without files: no error")
	}
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// TestTruncated cuts files mid-packet: every packet before the cut comes
// out, then an error naming the file and the cut, then the next file.
func TestTruncated(t *testing.T) {
	tmp := t.TempDir()
	pc, _ := os.ReadFile(dir + "td-mptcp-v1-sll.pcap")
	ng, _ := os.ReadFile(dir + "zk-ldap-gap-126idb.pcapng")
	// Record offsets of td-mptcp-v1-sll.pcap: walk the records.
	var ends []int
	for off := 24; off+16 <= len(pc); {
		caplen := int(binary.LittleEndian.Uint32(pc[off+8:]))
		off += 16 + caplen
		ends = append(ends, off)
	}
	if len(ends) != 20 || ends[19] != len(pc) {
		t.Fatalf("record walk: %d records", len(ends))
	}
	for _, c := range []struct {
		name    string
		data    []byte
		packets int
		want    string
	}{
		{"mid-data.pcap", pc[:ends[9]+16+30], 10, "mid-data.pcap: truncated in packet 11 (after 10 complete packets)"},
		{"after-header.pcap", pc[:ends[9]+16], 10, "after-header.pcap: truncated in packet 11"},
		{"mid-header.pcap", pc[:ends[9]+7], 10, "mid-header.pcap: truncated in packet 11"},
		{"at-record.pcap", pc[:ends[9]], 10, ""},
		{"mid-block.pcapng", ng[:len(ng)-100], 17, "mid-block.pcapng: truncated in packet 18"},
		{"gz-cut.pcap.gz", gzipped(pc)[:len(gzipped(pc))-2000], -1, "gz-cut.pcap.gz: truncated in packet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(tmp, c.name)
			os.WriteFile(f, c.data, 0o644)
			p, st, errs := readAll(t, 3, f, dir+"td-tso-iplen0.pcap")
			n := len(p) - 1 // the last file's one packet
			if c.packets >= 0 && n != c.packets {
				t.Errorf("%d packets before the cut, want %d", n, c.packets)
			}
			if p[len(p)-1].pkt.OrigLen != 2030 || st.Malformed != 0 {
				t.Errorf("the next file was not read: %+v", p[len(p)-1].pkt)
			}
			if c.want == "" {
				if len(errs) != 0 {
					t.Errorf("errors %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) || !errors.Is(errs[0], pcapfile.ErrTruncated) {
				t.Fatalf("errors %v, want %q", errs, c.want)
			}
			t.Log(errs[0])
		})
	}
}

// TestGarbageLength: a record claiming 4 GiB does not make the reader
// allocate it.
func TestGarbageLength(t *testing.T) {
	tmp := t.TempDir()
	good := make([]byte, 60)
	b := pcapBytes(binary.LittleEndian, false, 65535, 1, good, good)
	binary.LittleEndian.PutUint32(b[24+16+60+8:], 0xfffffff0) // second record caplen
	f := filepath.Join(tmp, "garbage.pcap")
	os.WriteFile(f, b, 0o644)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	p, _, errs := readAll(t, 8, f)
	runtime.ReadMemStats(&m1)
	if len(p) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "garbage.pcap: packet 2: capture length exceeds snap length") {
		t.Fatalf("%d packets, errors %v", len(p), errs)
	}
	if d := m1.TotalAlloc - m0.TotalAlloc; d > 16<<20 {
		t.Errorf("allocated %d bytes", d)
	}
	// With a huge snap length the reader reads what is there, no more.
	b = pcapBytes(binary.LittleEndian, false, 0xffffffff, 1, good, good)
	binary.LittleEndian.PutUint32(b[24+16+60+8:], 0x7ffffff0)
	binary.LittleEndian.PutUint32(b[24+16+60+12:], 0x7ffffff0)
	os.WriteFile(f, b, 0o644)
	runtime.ReadMemStats(&m0)
	p, _, errs = readAll(t, 8, f)
	runtime.ReadMemStats(&m1)
	if len(p) != 1 || len(errs) != 1 || !errors.Is(errs[0], pcapfile.ErrTruncated) {
		t.Fatalf("%d packets, errors %v", len(p), errs)
	}
	if d := m1.TotalAlloc - m0.TotalAlloc; d > 16<<20 {
		t.Errorf("allocated %d bytes", d)
	}
}

// bigCapture writes n copies of a 1514-byte frame as pcap or pcapng.
func bigCapture(t testing.TB, path string, ng bool, link layers.LinkType, n int) {
	capture(t, path, ng, link, n, 1514)
}

func capture(t testing.TB, path string, ng bool, link layers.LinkType, n, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frame := make([]byte, size)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(frame), Length: len(frame)}
	if ng {
		w, err := pcapgo.NewNgWriter(f, link)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			w.WritePacket(ci, frame)
		}
		w.Flush()
		return
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65535, link)
	for range n {
		w.WritePacket(ci, frame)
	}
}

func TestReadBatchAllocs(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range []struct {
		name string
		ng   bool
		link layers.LinkType
		max  float64
	}{
		{"a.pcap", false, layers.LinkTypeEthernet, 0},
		{"b.pcapng", true, layers.LinkTypeEthernet, 0},
		// pcapgo boxes the link type of every pcapng packet into an
		// interface; values >= 256 (SLL2 is 276) allocate 2 bytes.
		{"c.pcapng", true, layers.LinkType(decode.LinkLinuxSLL2), 64},
	} {
		f := filepath.Join(tmp, c.name)
		bigCapture(t, f, c.ng, c.link, 20000)
		r, err := pcapfile.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]pcapfile.Packet, 64)
		for range 3 {
			r.ReadBatch(b) // warm up
		}
		allocs := testing.AllocsPerRun(100, func() {
			if n, err := r.ReadBatch(b); n != 64 || err != nil {
				t.Fatal(n, err)
			}
		})
		t.Logf("%s: %v allocs per batch", c.name, allocs)
		if allocs > c.max {
			t.Errorf("%s: %v allocations per batch of 64", c.name, allocs)
		}
		r.Close()
	}
}

func BenchmarkReadBatch(b *testing.B) {
	tmp := b.TempDir()
	for _, ng := range []bool{false, true} {
		for _, size := range []int{66, 1514} {
			name := fmt.Sprintf("pcap-%d", size)
			if ng {
				name = fmt.Sprintf("pcapng-%d", size)
			}
			f := filepath.Join(tmp, name)
			capture(b, f, ng, layers.LinkTypeEthernet, 20000, size)
			b.Run(name, func(b *testing.B) {
				batch := make([]pcapfile.Packet, 64)
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					r, err := pcapfile.Open(f)
					if err != nil {
						b.Fatal(err)
					}
					for {
						k, err := r.ReadBatch(batch)
						if err != nil {
							break
						}
						n += k
					}
					r.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
			})
		}
	}
}
