package offline_test

// The corpus golden test: every capture in testdata/pcaps is reassembled
// with the default configuration and compared, stream by stream and
// direction by direction, with tshark's "follow TCP stream" output
// (tshark-streams.tsv, tshark-gaps.tsv) and with the raw sequence-number
// accounting of tcp_segment_report.py (segments.tsv). Where we differ, the
// difference is listed below with its reason — a point of the corpus
// README's "Where tshark is not the truth" (tshark-1 … tshark-8) or a
// policy of ours — and our exact output is asserted, so that any change in
// behaviour shows up. docs/CORPUS.md is the readable version of this table.

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// dirExp is our output for one direction of a tshark stream that differs
// from tshark's (or from the segment accounting).
type dirExp struct {
	cat     string // "tshark-N" (corpus README point N), "policy:NAME" or "bug"
	why     string // one line
	n       uint64 // bytes we deliver
	sha     string // their sha256
	gaps    string // our holes, "offset+length ..." in stream offsets
	unacked uint64 // of n, bytes delivered flagged Unacked
}

// dkey names a direction in tshark's orientation: file, stream, "c2s"/"s2c".
type dkey struct {
	file   string
	stream int
	dir    string
}

// fileExp is what a whole capture gives: our connections, their close
// reasons ("reason:count" sorted by reason) and how many were picked up
// midstream; tshark streams whose roles we chose differently (stream ->
// why); our connections that match no tshark stream ("client>server
// reason").
type fileExp struct {
	conns     int
	midstream int
	reasons   string
	flipped   map[int]string
	extra     []string
}

// Policies of ours that explain differences from tshark (docs/CORPUS.md):
const (
	// ack-gated delivery: bytes the peer never ACKed are still delivered
	// at close, flagged Unacked; the digest covers them, so only the
	// Unacked count tells (asserted everywhere from segments.tsv).
	polAckGap  = "policy:ack-gap"  // a hole revealed only by the peer's ACKs is reported as a gap
	polRSTData = "policy:rst-data" // payload on a RST segment is not stream data
	polVLAN    = "policy:vlan-key" // VLAN ids are part of the flow key (Config.IgnoreVLAN off)
)

// mayLose are the categories under which a direction may deliver fewer
// bytes than were captured for it.
var mayLose = map[string]bool{
	polRSTData: true, // RST payload is not stream data
	polVLAN:    true, // the bytes are delivered, in another connection
	"bug":      true,
}

// goldenFiles lists every capture: our connections, close reasons and
// midstream pickups, and what differs from tshark at connection level.
var goldenFiles = map[string]fileExp{
	"ak-bigendian.pcap":                {conns: 0, midstream: 0, reasons: ""},
	"ak-tcp-reassembly-synthetic.pcap": {conns: 11, midstream: 1, reasons: "fin:9 flush:2"},
	"ak-tcpseq-wrap.pcap":              {conns: 6, midstream: 0, reasons: "flush:6"},
	"ak-twovlan.pcap":                  {conns: 1, midstream: 0, reasons: "flush:1"},
	"gp-loopback-null.pcap":            {conns: 2, midstream: 1, reasons: "flush:2"},
	"gp-pcapng-be-multisection.pcapng": {conns: 0, midstream: 0, reasons: ""},
	"sv-async-server-only-imap.pcap":   {conns: 1, midstream: 1, reasons: "flush:1"},
	"sv-gap-mid-vlan.pcap":             {conns: 1, midstream: 0, reasons: "flush:1"},
	"sv-http-gap-body-null.pcap":       {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-http-ipv6-null.pcap":           {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-http-pipeline-gap.pcap":        {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-ipfrag-syn-rawip.pcap":         {conns: 1, midstream: 0, reasons: "flush:1"},
	"sv-onesided-nosyn-http.pcap":      {conns: 1, midstream: 1, reasons: "flush:1"},
	// no FIN: ends with the capture (Suricata: flow timeout)
	"sv-overlap-exact-good-evil-vlan.pcap": {conns: 1, midstream: 0, reasons: "flush:1"},
	"sv-rawip-sack-keepalive.pcap":         {conns: 1, midstream: 0, reasons: "rst:1"},
	// the injected RST (bad timestamp) before the SYN+ACK must not close
	// the connection: it survives to the end of the capture
	"sv-rst-fin-inject-badts-linux.pcap": {conns: 1, midstream: 0, reasons: "flush:1"},
	"sv-rst-unacked-data.pcap":           {conns: 1, midstream: 0, reasons: "rst:1"},
	"sv-sll2-gro-large.pcap":             {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-smb2-large-flow.pcap":            {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-split-handshake-4whs.pcap":       {conns: 1, midstream: 0, reasons: "rst:1"},
	"sv-tlpw-ooo-snaplen.pcap":           {conns: 1, midstream: 0, reasons: "rst:1"},
	"sv-tls-clienthello-mtu300.pcap":     {conns: 1, midstream: 0, reasons: "fin:1"},
	"sv-urgent-oob.pcap":                 {conns: 1, midstream: 0, reasons: "fin:1"},
	"td-bigtcp-ipv6-jumbo.pcap": {conns: 1, midstream: 1, reasons: "flush:1",
		flipped: map[int]string{0: "tshark-1: one packet, no SYN, two ephemeral ports: tshark makes the sender (41851) the client, we make the lower port the server"}},
	"td-mptcp-v1-sll.pcap":               {conns: 1, midstream: 0, reasons: "fin:1"},
	"td-tso-iplen0.pcap":                 {conns: 1, midstream: 1, reasons: "flush:1"},
	"tf-lines-ordered.pcap":              {conns: 1, midstream: 0, reasons: "fin:1"},
	"tf-test1-http.pcap":                 {conns: 3, midstream: 1, reasons: "flush:3"},
	"tf-test4-ipv6-rawip.pcap":           {conns: 6, midstream: 0, reasons: "flush:6"},
	"tf-three-flows-port-reuse.pcap":     {conns: 3, midstream: 0, reasons: "fin:3"},
	"tr-test-mixed.pcap":                 {conns: 7, midstream: 1, reasons: "fin:2 flush:5"},
	"zk-echo-500-conns.pcap":             {conns: 500, midstream: 0, reasons: "fin:500"},
	"zk-ftp-5gb-seq-wrap-truncated.pcap": {conns: 3, midstream: 0, reasons: "fin:3"},
	"zk-gap-recovery-null.pcap":          {conns: 2, midstream: 1, reasons: "fin:1 flush:1"},
	"zk-http-pipelined.pcap":             {conns: 1, midstream: 0, reasons: "fin:1"},
	"zk-ipv4frag-inconsistent.pcap":      {conns: 2, midstream: 1, reasons: "flush:2"},
	// the client's packets carry VLAN 81, the server's VLAN 80: joined
	// into one connection (Config.NoVLANJoin off), identical to tshark
	// and Zeek (TestCorpusThirdOpinions)
	"zk-ldap-gap-126idb.pcapng":       {conns: 1, midstream: 0, reasons: "rst:1"},
	"zk-miss-end-data.pcap":           {conns: 1, midstream: 0, reasons: "fin:1"},
	"zk-missing-syn.pcap":             {conns: 1, midstream: 1, reasons: "fin:1"},
	"zk-quantum-insert.pcap":          {conns: 1, midstream: 0, reasons: "rst:1"},
	"zk-reassembly-inconsistent.pcap": {conns: 1, midstream: 0, reasons: "fin:1"},
	"zk-retransmit-headers-only.pcap": {conns: 1, midstream: 0, reasons: "rst:1"},
	"zk-rst-inject-after-syn.pcap":    {conns: 1, midstream: 0, reasons: "rst:1"},
	"zk-ssh-dups.pcap":                {conns: 1, midstream: 0, reasons: "fin:1"},
	"zk-truncated-header-snap68.pcap": {conns: 1, midstream: 0, reasons: "fin:1"},
	"zk-vlan-qinqinq.pcap":            {conns: 1, midstream: 0, reasons: "fin:1"},
	"sniffer-02-chunked-rawip.pcap":   {conns: 1, midstream: 0, reasons: "fin:1"},
	"sniffer-03-keepalive.pcap":       {conns: 1, midstream: 0, reasons: "flush:1"},
	"sniffer-04-other-port-8888.pcap": {conns: 2, midstream: 0, reasons: "fin:1 flush:1"},
	"sniffer-06-gmail.pcap":           {conns: 7, midstream: 4, reasons: "fin:2 flush:4 rst:1"},
}

// empty is the sha256 of no bytes.
const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// goldenDirs lists every direction where our bytes, holes or unACKed count
// differ from tshark's output and the segment accounting.
var goldenDirs = map[dkey]dirExp{
	{"ak-tcp-reassembly-synthetic.pcap", 10, "s2c"}: {cat: polAckGap,
		why: "the client's ACK (0) is one past the server's SYN+ACK (4294967294): a byte never captured, a gap (segments.tsv acked_beyond_capture 1)",
		n:   0, sha: empty, gaps: "0+1"},
	{"ak-tcpseq-wrap.pcap", 0, "c2s"}: {cat: "tshark-4",
		why: "CROSSCHECK: tshark drops the 8 bytes captured 251658103 bytes after the bogus SYN's 8; we deliver both (nobody ACKs: Unacked) with the hole as a gap",
		n:   16, sha: "dafcd813a7cde013938b0c34cdf2a62e827e98b22724f6bfd0e16b2d689e3d03", gaps: "8+251658103", unacked: 16},
	{"sv-async-server-only-imap.pcap", 0, "c2s"}: {cat: polAckGap,
		why: "only the server side is captured: its ACKs reveal 484 client bytes, reported as gaps (tshark-4: tshark marks nothing)",
		n:   0, sha: empty, gaps: "0+15 15+152 167+36 203+15 218+15 233+152 385+19 404+43 447+37"},
	{"sv-onesided-nosyn-http.pcap", 0, "s2c"}: {cat: polAckGap,
		why: "only the client side is captured: its ACKs reveal 12580 server bytes, reported as gaps (tshark-4)",
		n:   0, sha: empty, gaps: "0+2920 2920+319 3239+1071 4310+4380 8690+3889 12579+1"},
	{"sv-rst-unacked-data.pcap", 0, "c2s"}: {cat: polRSTData,
		why: "tshark-5: the client's 13 bytes all ride on RST segments, which carry no stream data for us",
		n:   0, sha: empty},
	{"sv-tlpw-ooo-snaplen.pcap", 0, "s2c"}: {cat: "tshark-4",
		why: "CROSSCHECK: tshark drops the 2576 bytes captured after the 5152-byte hole; we deliver them (Unacked: the RST comes first), the hole as 1288 (confirmed by a later ACK) + 3864 (at close)",
		n:   52320, sha: "c1cae38ec49d578e1d11c00a4a259748b1d9d5ef2329876d6d4e0b72f9209520", gaps: "35576+1288 51032+1288 52320+3864", unacked: 2576},
	{"zk-miss-end-data.pcap", 0, "s2c"}: {cat: polAckGap,
		why: "tshark-4: the server's 2902 bytes before its FIN were never captured, only ACKed (Zeek: content_gap 2902, missed_bytes 2902)",
		n:   0, sha: empty, gaps: "0+2902"},
	{"zk-reassembly-inconsistent.pcap", 0, "c2s"}: {cat: "tshark-3",
		why: "two retransmissions (24 and 28 bytes) differ from the first copy; we keep the first captured (Zeek's rexmit_inconsistency), tshark the copy that filled the hole before them",
		n:   28832, sha: "dd9885920986910148a1479d9ae2c9d545ca02a7cde906b667ac3d8b58937c46",
		gaps: "1714+8 6094+8 11910+32 15570+728 16310+708 17677+81 17782+1343 23443+20 29957+1448"},
	{"zk-retransmit-headers-only.pcap", 0, "c2s"}: {cat: "tshark-7",
		why: "snaplen 54: no payload captured; the server's ACKs make the client's 474 bytes gaps (Zeek missed_bytes 24257 = 474 + 23783)",
		n:   0, sha: empty, gaps: "0+474"},
	{"zk-retransmit-headers-only.pcap", 0, "s2c"}: {cat: "tshark-7",
		why: "snaplen 54: no payload captured; the client's ACKs make the server's 23783 bytes gaps",
		n:   0, sha: empty, gaps: "0+2860 2860+1430 4290+2860 7150+1430 8580+2860 11440+1430 12870+5720 18590+5193"},
	{"zk-truncated-header-snap68.pcap", 0, "c2s"}: {cat: "tshark-7",
		why: "snaplen 68: no payload captured; the server's ACKs make 128 client bytes gaps",
		n:   0, sha: empty, gaps: "0+24 24+58 82+34 116+6 122+6"},
	{"zk-truncated-header-snap68.pcap", 0, "s2c"}: {cat: "tshark-7",
		why: "snaplen 68: no payload captured; the client's ACKs make 477 server bytes gaps",
		n:   0, sha: empty, gaps: "0+84 84+204 288+46 334+79 413+64"},
}

// corpusRun caches one reassembly of a capture per worker count: the golden
// test and the worker-count test share them.
var corpusRun = struct {
	sync.Mutex
	m map[string][]*connOut
}{m: map[string][]*connOut{}}

func reassemble(t *testing.T, name, path string, workers int) []*connOut {
	t.Helper()
	key := fmt.Sprintf("%s/%d", name, workers)
	corpusRun.Lock()
	defer corpusRun.Unlock()
	if c, ok := corpusRun.m[key]; ok {
		return c
	}
	c, _ := runCapture(t, path, workers)
	corpusRun.m[key] = c
	return c
}

func reasonsOf(conns []*connOut) (string, int) {
	cnt := map[string]int{}
	mid := 0
	for _, c := range conns {
		cnt[c.reason.String()]++
		if c.midstream {
			mid++
		}
	}
	var parts []string
	for r, n := range cnt {
		parts = append(parts, fmt.Sprintf("%s:%d", r, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " "), mid
}

func TestCorpusGolden(t *testing.T) {
	ts := tsharkStreams(t)
	tgaps := tsharkGaps(t)
	segs := segmentRows(t)
	names, paths := corpusFiles(t)
	usedDirs := map[dkey]bool{}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			conns := reassemble(t, name, paths[name], 1)
			fe, ok := goldenFiles[name]
			reasons, mid := reasonsOf(conns)
			if !ok {
				t.Errorf("no goldenFiles entry; suggest: %q: {conns: %d, midstream: %d, reasons: %q},", name, len(conns), mid, reasons)
			} else if len(conns) != fe.conns || reasons != fe.reasons || mid != fe.midstream {
				t.Errorf("connections %d (%s, midstream %d), want %d (%s, midstream %d)", len(conns), reasons, mid, fe.conns, fe.reasons, fe.midstream)
			}
			pair, extra := match(ts[name], conns)
			var extraS []string
			for _, i := range extra {
				c := conns[i]
				extraS = append(extraS, fmt.Sprintf("%s>%s %s c2s=%d:%.12s s2c=%d:%.12s", c.client, c.server, c.reason, c.dir[0].n, c.sha[0], c.dir[1].n, c.sha[1]))
			}
			if strings.Join(extraS, "; ") != strings.Join(fe.extra, "; ") {
				t.Errorf("connections matching no tshark stream:\n got %q\nwant %q", extraS, fe.extra)
			}
			for i, s := range ts[name] {
				if pair[i] < 0 {
					t.Errorf("tshark stream %d %s>%s: no connection of ours", i, s.client, s.server)
					continue
				}
				c := conns[pair[i]]
				why, isFlipped := fe.flipped[i]
				switch {
				case c.client != s.client && !isFlipped:
					t.Errorf("stream %d: our client %s, tshark's %s (by %s)", i, c.client, s.client, s.clientBy)
				case c.client == s.client && isFlipped:
					t.Errorf("stream %d: roles agree with tshark now; drop flipped entry %q", i, why)
				}
				for td := 0; td < 2; td++ {
					k := dkey{name, i, tdirName[td]}
					usedDirs[k] = true
					checkDir(t, k, s, c, ourDir(s, c, td), tgaps[name][i][td], segs[name][i][[2]netip.AddrPort{s.client, s.server}[td]])
				}
			}
		})
	}
	for k := range goldenDirs {
		if !usedDirs[k] {
			t.Errorf("goldenDirs entry %v matches no tshark stream", k)
		}
	}
	for f := range goldenFiles {
		if _, ok := paths[f]; !ok {
			t.Errorf("goldenFiles entry %s is not in MANIFEST.tsv", f)
		}
	}
}

// checkDir compares one direction with tshark and the segment accounting.
func checkDir(t *testing.T, k dkey, s tsStream, c *connOut, d reassembly.Dir, tg []gapRec, seg segRow) {
	t.Helper()
	o := &c.dir[d]
	td := 0
	if k.dir == "s2c" {
		td = 1
	}
	ours := fmt.Sprintf("n=%d sha=%s gaps=[%s] unacked=%d", o.n, c.sha[d], gapString(o.gaps), o.unacked)
	// what agreeing with tshark means: its bytes, its holes, and the
	// segment report's count of bytes the peer never ACKed
	agree := fmt.Sprintf("n=%d sha=%s gaps=[%s] unacked=%d", s.bytes[td], s.sha[td], gapString(tg), seg.unacked)
	if o.ackedAfterUnacked {
		t.Errorf("%s stream %d %s: an ACKed byte was delivered after an unACKed one", k.file, k.stream, k.dir)
	}
	e, ok := goldenDirs[k]
	if !ok {
		if ours != agree {
			t.Errorf("%s stream %d %s differs from tshark and no goldenDirs entry explains it:\n ours   %s\n tshark %s\n suggest: {%q, %d, %q}: {n: %d, sha: %q, gaps: %q, unacked: %d},",
				k.file, k.stream, k.dir, ours, agree, k.file, k.stream, k.dir, o.n, c.sha[d], gapString(o.gaps), o.unacked)
		}
		if o.n != seg.unique {
			t.Errorf("%s stream %d %s: delivered %d bytes, %d were captured (segments.tsv)", k.file, k.stream, k.dir, o.n, seg.unique)
		}
		return
	}
	want := fmt.Sprintf("n=%d sha=%s gaps=[%s] unacked=%d", e.n, e.sha, e.gaps, e.unacked)
	if ours != want {
		t.Errorf("%s stream %d %s (%s: %s):\n ours   %s\n golden %s", k.file, k.stream, k.dir, e.cat, e.why, ours, want)
	}
	if ours == agree {
		t.Errorf("%s stream %d %s now agrees with tshark: drop its goldenDirs entry (%s)", k.file, k.stream, k.dir, e.cat)
	}
	if e.cat == "" || e.why == "" {
		t.Errorf("%s stream %d %s: golden entry needs a category and a reason", k.file, k.stream, k.dir)
	}
	// a captured byte may only go missing for a stated reason
	if o.n < seg.unique-seg.rstData && !mayLose[e.cat] {
		t.Errorf("%s stream %d %s: delivered %d of %d captured bytes, but the entry is %s, not a bug", k.file, k.stream, k.dir, o.n, seg.unique-seg.rstData, e.cat)
	}
}

// TestCorpusWorkers: the connections, their bytes, holes, unACKed counts,
// close reasons and histories do not depend on the number of workers.
func TestCorpusWorkers(t *testing.T) {
	names, paths := corpusFiles(t)
	for _, name := range names {
		one := fingerprints(reassemble(t, name, paths[name], 1))
		four := fingerprints(reassemble(t, name, paths[name], 4))
		if len(one) != len(four) {
			t.Errorf("%s: %d connections with 1 worker, %d with 4", name, len(one), len(four))
		}
		for i := 0; i < len(one) && i < len(four); i++ {
			if one[i] != four[i] {
				t.Errorf("%s: first difference between 1 and 4 workers:\n 1: %s\n 4: %s", name, one[i], four[i])
				break
			}
		}
	}
}

// fingerprints returns the sorted fingerprints of conns.
func fingerprints(conns []*connOut) []string {
	out := make([]string, len(conns))
	for i, c := range conns {
		out[i] = c.fingerprint()
	}
	sort.Strings(out)
	return out
}
