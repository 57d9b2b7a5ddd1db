package offline_test

// The harness of the corpus tests: running a capture through offline.Run
// with a handler that records everything delivered, reading the tshark
// references in testdata/pcaps, and matching our connections to tshark's
// streams.

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/reassembly"
)

// corpusDir holds the captures, MANIFEST.tsv and the tshark references.
const corpusDir = "../../testdata/pcaps"

// keepBytes is how much of each direction the collector keeps verbatim for
// content checks (digests cover everything).
const keepBytes = 256 << 10

// gapRec is a hole reported by the reassembler: Len bytes missing at stream
// offset Off.
type gapRec struct{ Off, Len uint64 }

func (g gapRec) String() string { return fmt.Sprintf("%d+%d", g.Off, g.Len) }

// dirOut is what one direction delivered.
type dirOut struct {
	all     hash.Hash // every delivered byte, in order, holes excluded
	allMD5  hash.Hash
	acked   hash.Hash // the bytes delivered without the Unacked flag
	n       uint64    // bytes delivered
	nAcked  uint64
	unacked uint64 // bytes delivered flagged Unacked
	// firstUnacked is the stream offset of the first byte delivered
	// flagged Unacked (valid when unacked > 0)
	firstUnacked uint64
	// ackedAfterUnacked: an ACKed byte came after an unACKed one
	ackedAfterUnacked bool
	gaps              []gapRec
	end               uint64 // offset reached: delivered + missed
	orderErr          string // first out-of-order offset seen, if any
	data              []byte // the bytes delivered, holes excluded (up to keepBytes)
}

func newDirOut() dirOut {
	return dirOut{all: sha256.New(), allMD5: md5.New(), acked: sha256.New()}
}

func (d *dirOut) add(x reassembly.Data) {
	if x.Gap > 0 {
		if x.Offset < x.Gap || x.Offset-x.Gap != d.end {
			if d.orderErr == "" {
				d.orderErr = fmt.Sprintf("gap %d before offset %d, stream at %d", x.Gap, x.Offset, d.end)
			}
		}
		d.gaps = append(d.gaps, gapRec{x.Offset - x.Gap, x.Gap})
		d.end = x.Offset
	}
	if x.Offset != d.end && d.orderErr == "" {
		d.orderErr = fmt.Sprintf("data at offset %d, stream at %d", x.Offset, d.end)
	}
	if len(x.Bytes) == 0 {
		return
	}
	d.all.Write(x.Bytes)
	d.allMD5.Write(x.Bytes)
	if room := keepBytes - len(d.data); room > 0 {
		b := x.Bytes
		if len(b) > room {
			b = b[:room]
		}
		d.data = append(d.data, b...)
	}
	n := uint64(len(x.Bytes))
	if x.Unacked {
		if d.unacked == 0 {
			d.firstUnacked = x.Offset
		}
		d.unacked += n
	} else {
		if d.unacked > 0 {
			d.ackedAfterUnacked = true
		}
		d.acked.Write(x.Bytes)
		d.nAcked += n
	}
	d.n += n
	d.end = x.Offset + n
}

// connOut is one connection as the handler saw it.
type connOut struct {
	id             uint64
	client, server netip.AddrPort
	vlans          []uint16
	start, last    int64
	midstream      bool
	reason         reassembly.Reason
	history        string
	stats          [2]reassembly.DirStats
	dir            [2]dirOut // by reassembly.Dir

	// filled in when sealed
	sha, sha1Acked, md5s [2]string
}

func (c *connOut) seal() {
	for d := range c.dir {
		c.sha[d] = hex.EncodeToString(c.dir[d].all.Sum(nil))
		c.sha1Acked[d] = hex.EncodeToString(c.dir[d].acked.Sum(nil))
		c.md5s[d] = hex.EncodeToString(c.dir[d].allMD5.Sum(nil))
	}
}

// fingerprint renders everything the test compares across worker counts.
func (c *connOut) fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%x %s>%s vlan%v start=%d last=%d mid=%v reason=%s hist=%s", c.id, c.client, c.server, c.vlans, c.start, c.last, c.midstream, c.reason, c.history)
	for d := range c.dir {
		o := &c.dir[d]
		fmt.Fprintf(&b, " [%d: n=%d sha=%s acked=%s unacked=%d@%d gaps=%v end=%d pk=%d by=%d]",
			d, o.n, c.sha[d][:16], c.sha1Acked[d][:16], o.unacked, o.firstUnacked, o.gaps, o.end, c.stats[d].Packets, c.stats[d].Bytes)
	}
	return b.String()
}

// collector records every connection of a run; one handler per worker.
type collector struct {
	mu    sync.Mutex
	conns []*connOut
	open  int // Opened minus Closed
	bad   []string
}

func (k *collector) handler(int) reassembly.Handler {
	return reassembly.Funcs{
		OnOpen: func(c *reassembly.Conn) {
			o := &connOut{id: c.ID(), client: c.Client(), server: c.Server(), vlans: c.VLANs().Slice(),
				start: c.StartNanos(), midstream: c.Midstream()}
			o.dir[0], o.dir[1] = newDirOut(), newDirOut()
			c.Ctx = o
			k.mu.Lock()
			k.open++
			k.mu.Unlock()
		},
		OnSent:     func(c *reassembly.Conn, d reassembly.Data) { c.Ctx.(*connOut).dir[reassembly.FromClient].add(d) },
		OnReceived: func(c *reassembly.Conn, d reassembly.Data) { c.Ctx.(*connOut).dir[reassembly.FromServer].add(d) },
		OnClose: func(c *reassembly.Conn, r reassembly.Reason) {
			o := c.Ctx.(*connOut)
			o.reason, o.last, o.history = r, c.LastNanos(), c.History()
			o.stats[0], o.stats[1] = c.Stats(reassembly.FromClient), c.Stats(reassembly.FromServer)
			o.seal()
			k.mu.Lock()
			defer k.mu.Unlock()
			k.open--
			for d := range o.dir {
				if e := o.dir[d].orderErr; e != "" {
					k.bad = append(k.bad, fmt.Sprintf("%s>%s dir %d: %s", o.client, o.server, d, e))
				}
				st := o.stats[d]
				if st.Delivered != o.dir[d].n || st.Unacked != o.dir[d].unacked {
					k.bad = append(k.bad, fmt.Sprintf("%s>%s dir %d: DirStats delivered %d unacked %d, handler saw %d, %d",
						o.client, o.server, d, st.Delivered, st.Unacked, o.dir[d].n, o.dir[d].unacked))
				}
			}
			k.conns = append(k.conns, o)
		},
	}
}

// runCapture reassembles one capture with the default configuration and
// returns its connections in order of first packet.
func runCapture(t testing.TB, path string, workers int) ([]*connOut, offline.Summary) {
	t.Helper()
	return runCaptureCfg(t, path, offline.Config{Workers: workers})
}

// runCaptureCfg is runCapture with a configuration (its Handler is set
// here).
func runCaptureCfg(t testing.TB, path string, cfg offline.Config) ([]*connOut, offline.Summary) {
	t.Helper()
	k := &collector{}
	cfg.Handler = k.handler
	sum, err := offline.Run(context.Background(), cfg, path)
	if err != nil {
		t.Fatalf("%s: offline.Run: %v", filepath.Base(path), err)
	}
	if k.open != 0 {
		t.Errorf("%s: %d connections opened but never closed", filepath.Base(path), k.open)
	}
	for _, b := range k.bad {
		t.Errorf("%s: %s", filepath.Base(path), b)
	}
	sort.SliceStable(k.conns, func(i, j int) bool {
		a, b := k.conns[i], k.conns[j]
		if a.start != b.start {
			return a.start < b.start
		}
		return a.id < b.id
	})
	return k.conns, sum
}

// tsStream is one row of tshark-streams.tsv.
type tsStream struct {
	file           string
	stream         int
	client, server netip.AddrPort
	clientBy       string
	bytes          [2]uint64 // c2s, s2c
	gaps           [2]int
	sha            [2]string
}

// readTSV returns the rows of a tab-separated file with a header line, as
// maps from column name to value.
func readTSV(t testing.TB, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var head []string
	var rows []map[string]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = cols
			continue
		}
		if len(cols) != len(head) {
			t.Fatalf("%s: %d columns, header has %d: %q", name, len(cols), len(head), sc.Text())
		}
		m := make(map[string]string, len(cols))
		for i, h := range head {
			m[h] = cols[i]
		}
		rows = append(rows, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func atoi(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tsharkStreams returns tshark's streams per capture, in stream order.
func tsharkStreams(t testing.TB) map[string][]tsStream {
	t.Helper()
	out := map[string][]tsStream{}
	for _, r := range readTSV(t, "tshark-streams.tsv") {
		s := tsStream{file: r["file"], stream: int(atoi(t, r["stream"])), clientBy: r["client_by"]}
		var err error
		if s.client, err = netip.ParseAddrPort(r["client"]); err != nil {
			t.Fatal(err)
		}
		if s.server, err = netip.ParseAddrPort(r["server"]); err != nil {
			t.Fatal(err)
		}
		s.bytes = [2]uint64{atoi(t, r["c2s_bytes"]), atoi(t, r["s2c_bytes"])}
		s.gaps = [2]int{int(atoi(t, r["c2s_gaps"])), int(atoi(t, r["s2c_gaps"]))}
		s.sha = [2]string{r["c2s_sha256"], r["s2c_sha256"]}
		if len(out[s.file]) != s.stream {
			t.Fatalf("tshark-streams.tsv: %s stream %d out of order", s.file, s.stream)
		}
		out[s.file] = append(out[s.file], s)
	}
	return out
}

// corpusFiles returns the captures listed in MANIFEST.tsv and their path in
// testdata (column stored_as: ".gz" appended for the ones stored
// compressed).
func corpusFiles(t testing.TB) (names []string, paths map[string]string) {
	t.Helper()
	paths = map[string]string{}
	for _, r := range readTSV(t, "MANIFEST.tsv") {
		name := r["file"]
		p := filepath.Join(corpusDir, r["stored_as"])
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("MANIFEST.tsv lists %s: %v", name, err)
		}
		names = append(names, name)
		paths[name] = p
	}
	return names, paths
}

// match pairs tshark's streams with our connections: same two endpoints
// (either orientation), in order of first packet, so port reuse pairs the
// n-th stream of a 4-tuple with our n-th connection on it. It returns, per
// tshark stream, the index of our connection (-1 if none), and our
// connections no stream matched.
func match(ts []tsStream, conns []*connOut) (pair []int, extra []int) {
	type ep struct{ a, b netip.AddrPort }
	norm := func(x, y netip.AddrPort) ep {
		if x.Compare(y) > 0 {
			x, y = y, x
		}
		return ep{x, y}
	}
	queue := map[ep][]int{}
	for i, c := range conns {
		k := norm(c.client, c.server)
		queue[k] = append(queue[k], i)
	}
	pair = make([]int, len(ts))
	for i, s := range ts {
		k := norm(s.client, s.server)
		if q := queue[k]; len(q) > 0 {
			pair[i] = q[0]
			queue[k] = q[1:]
		} else {
			pair[i] = -1
		}
	}
	for _, q := range queue {
		extra = append(extra, q...)
	}
	sort.Ints(extra)
	return pair, extra
}

// ourDir maps tshark's direction (0 c2s, 1 s2c) of stream s to our Dir
// for connection c: the same unless the roles were chosen differently.
func ourDir(s tsStream, c *connOut, tdir int) reassembly.Dir {
	if c.client == s.client {
		return reassembly.Dir(tdir)
	}
	return reassembly.Dir(tdir ^ 1)
}

var tdirName = [2]string{"c2s", "s2c"}

// tsharkGaps returns tshark's holes per capture, stream and direction
// (0 c2s, 1 s2c), converted from offsets in tshark's gap-free output to
// stream offsets (each hole shifts the ones after it), which is how the
// reassembler reports them.
func tsharkGaps(t testing.TB) map[string]map[int][2][]gapRec {
	t.Helper()
	out := map[string]map[int][2][]gapRec{}
	for _, r := range readTSV(t, "tshark-gaps.tsv") {
		f, n := r["file"], int(atoi(t, r["stream"]))
		d := 0
		if r["direction"] == "s2c" {
			d = 1
		}
		if out[f] == nil {
			out[f] = map[int][2][]gapRec{}
		}
		g := out[f][n]
		var shift uint64
		for _, x := range g[d] {
			shift += x.Len
		}
		g[d] = append(g[d], gapRec{Off: atoi(t, r["offset_in_bin"]) + shift, Len: atoi(t, r["missing_bytes"])})
		out[f][n] = g
	}
	return out
}

// segRow is one row of segments.tsv: the raw sequence-number accounting of
// one direction (tcp_segment_report.py), independent of any reassembler.
type segRow struct {
	unique, rstData, unacked, ackedUnseen, holeBytes, short uint64
}

// segmentRows returns segments.tsv by capture, stream and sending endpoint.
func segmentRows(t testing.TB) map[string]map[int]map[netip.AddrPort]segRow {
	t.Helper()
	out := map[string]map[int]map[netip.AddrPort]segRow{}
	for _, r := range readTSV(t, "segments.tsv") {
		f, n := r["file"], int(atoi(t, r["stream"]))
		src, err := netip.ParseAddrPort(r["src"])
		if err != nil {
			t.Fatal(err)
		}
		if out[f] == nil {
			out[f] = map[int]map[netip.AddrPort]segRow{}
		}
		if out[f][n] == nil {
			out[f][n] = map[netip.AddrPort]segRow{}
		}
		out[f][n][src] = segRow{
			unique: atoi(t, r["unique_bytes"]), rstData: atoi(t, r["rst_data_bytes"]),
			unacked: atoi(t, r["unacked_bytes"]), ackedUnseen: atoi(t, r["acked_beyond_capture_bytes"]),
			holeBytes: atoi(t, r["hole_bytes"]), short: atoi(t, r["short_bytes"]),
		}
	}
	return out
}

// gapString renders holes as "off+len off+len ...".
func gapString(g []gapRec) string {
	s := make([]string, len(g))
	for i, x := range g {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

// gapSum is the total length of holes.
func gapSum(g []gapRec) (n uint64) {
	for _, x := range g {
		n += x.Len
	}
	return n
}
