package httplog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/internal/segtest"
	"github.com/fastsniff/fastsniff/reassembly"
)

// A small HTTP stream synthesiser: random transactions (methods, body
// sizes, Content-Length or chunked framing, interim responses, pipelining
// depth, keep-alive, a close-delimited last response) become the two byte
// streams of a connection, cut into random TCP segments, some of which are
// lost inside bodies (the peer ACKs them anyway: capture loss). The test
// then checks that the log has exactly the transactions, with their
// lengths, gaps and body digests.

// synthTxn is one generated transaction and what the log must say.
type synthTxn struct {
	method, uri, host string
	reqBody           []byte
	reqChunked        bool
	interim           bool
	status            int
	resBody           []byte // what the response carries (none for HEAD, 204, 304)
	resFraming        int    // framingLen, framingChunked, framingClose
	declared          int    // Content-Length sent with a bodiless response
	reqHoles          []hole // body ranges lost in the capture
	resHoles          []hole
}

type hole struct{ start, end int } // in body coordinates

const (
	framingLen = iota
	framingChunked
	framingClose
)

// piece is body data on the wire: stream offset, body offset, length.
type piece struct {
	stream, body, n int
	msg             int // index of the transaction in the batch
}

var methods = []string{"GET", "GET", "GET", "POST", "POST", "PUT", "HEAD", "DELETE", "OPTIONS"}

func randBody(r *rand.Rand) []byte {
	var n int
	switch r.IntN(5) {
	case 0:
		n = 0
	case 1:
		n = 1 + r.IntN(100)
	case 2, 3:
		n = 100 + r.IntN(5000)
	default:
		n = 5000 + r.IntN(60000)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randTxn(r *rand.Rand, last bool) *synthTxn {
	t := &synthTxn{
		method: methods[r.IntN(len(methods))],
		uri:    fmt.Sprintf("/p%d/%x?q=%d", r.IntN(100), r.Uint32(), r.IntN(1000)),
		host:   fmt.Sprintf("h%d.example", r.IntN(10)),
		status: []int{200, 200, 200, 201, 204, 304, 404, 500}[r.IntN(8)],
	}
	if t.method == "POST" || t.method == "PUT" {
		t.reqBody = randBody(r)
		t.reqChunked = r.IntN(3) == 0
		t.interim = r.IntN(3) == 0
	}
	bodiless := t.method == "HEAD" || t.status == 204 || t.status == 304
	t.resFraming = framingLen
	if !bodiless {
		t.resBody = randBody(r)
		if r.IntN(3) == 0 {
			t.resFraming = framingChunked
		}
		if last && r.IntN(3) == 0 {
			t.resFraming = framingClose
		}
	} else if t.status != 204 && r.IntN(2) == 0 {
		t.declared = 1 + r.IntN(5000)
	}
	return t
}

// chunk writes body as chunks of random sizes (with an extension now and
// then, and sometimes a trailer), recording the data pieces.
func chunk(r *rand.Rand, w *bytes.Buffer, body []byte, msg int, pieces *[]piece) {
	off := 0
	for off < len(body) {
		n := 1 + r.IntN(min(len(body)-off, 1+r.IntN(20000)))
		if r.IntN(5) == 0 {
			fmt.Fprintf(w, "%x;ext=%d\r\n", n, r.IntN(9))
		} else {
			fmt.Fprintf(w, "%X\r\n", n)
		}
		*pieces = append(*pieces, piece{stream: w.Len(), body: off, n: n, msg: msg})
		w.Write(body[off : off+n])
		w.WriteString("\r\n")
		off += n
	}
	w.WriteString("0\r\n")
	if r.IntN(4) == 0 {
		w.WriteString("X-Trailer: t\r\n")
	}
	w.WriteString("\r\n")
}

func (t *synthTxn) request(r *rand.Rand, w *bytes.Buffer, msg int, pieces *[]piece) {
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: synth\r\n", t.method, t.uri, t.host)
	if t.interim {
		w.WriteString("Expect: 100-continue\r\n")
	}
	switch {
	case t.reqChunked:
		w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		chunk(r, w, t.reqBody, msg, pieces)
	case t.reqBody != nil:
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(t.reqBody))
		if len(t.reqBody) > 0 {
			*pieces = append(*pieces, piece{stream: w.Len(), n: len(t.reqBody), msg: msg})
		}
		w.Write(t.reqBody)
	default:
		w.WriteString("\r\n")
	}
}

func (t *synthTxn) response(r *rand.Rand, w *bytes.Buffer, msg int, pieces *[]piece) {
	if t.interim {
		w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	}
	fmt.Fprintf(w, "HTTP/1.1 %d Status%d\r\nServer: synth\r\nContent-Type: application/octet-stream\r\n", t.status, t.status)
	switch {
	case t.resBody == nil:
		if t.declared > 0 {
			fmt.Fprintf(w, "Content-Length: %d\r\n", t.declared)
		}
		w.WriteString("\r\n")
	case t.resFraming == framingChunked:
		w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		chunk(r, w, t.resBody, msg, pieces)
	case t.resFraming == framingClose:
		w.WriteString("Connection: close\r\n\r\n")
		if len(t.resBody) > 0 {
			*pieces = append(*pieces, piece{stream: w.Len(), n: len(t.resBody), msg: msg})
		}
		w.Write(t.resBody)
	default:
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(t.resBody))
		if len(t.resBody) > 0 {
			*pieces = append(*pieces, piece{stream: w.Len(), n: len(t.resBody), msg: msg})
		}
		w.Write(t.resBody)
	}
}

// send cuts stream into segments of random sizes and sends them from the
// client (or the server), each followed by the peer's ACK. A segment
// strictly inside a body piece may be lost (the hole is recorded) if two
// more segments follow: the reassembly declares a hole a gap only when a
// later ACK than the first one covering it confirms it, and the peer's
// next message must not overtake the bytes after the hole.
func send(r *rand.Rand, c *segtest.Conv, client bool, stream []byte, pieces []piece, lossy bool, holes func(msg int) *[]hole) {
	var cuts []int
	for off := 0; off < len(stream); {
		n := 1 + r.IntN(min(len(stream)-off, 1460))
		if r.IntN(4) == 0 {
			n = min(len(stream)-off, 1460)
		}
		cuts = append(cuts, off)
		off += n
	}
	cuts = append(cuts, len(stream))
	for i := 0; i+1 < len(cuts); i++ {
		off, end := cuts[i], cuts[i+1]
		lost := false
		if lossy && i+3 < len(cuts) && r.IntN(6) == 0 {
			for _, p := range pieces {
				if off > p.stream && end < p.stream+p.n {
					lost = true
					h := holes(p.msg)
					*h = append(*h, hole{p.body + off - p.stream, p.body + end - p.stream})
					break
				}
			}
		}
		seg := stream[off:end]
		switch {
		case lost && client:
			c.LoseC(len(seg))
		case lost:
			c.LoseS(len(seg))
		case client:
			c.CB(psh, seg)
			c.S(ack, "")
		default:
			c.SB(psh, seg)
			c.C(ack, "")
		}
	}
}

// synthConn generates and sends one connection; it returns its
// transactions in order.
func synthConn(r *rand.Rand, c *segtest.Conv) []*synthTxn {
	n := 1 + r.IntN(6)
	txns := make([]*synthTxn, n)
	for i := range txns {
		txns[i] = randTxn(r, i == n-1)
	}
	lossy := r.IntN(2) == 0
	c.Handshake()
	for i := 0; i < n; {
		depth := 1 + r.IntN(4) // pipelining depth of this batch
		batch := txns[i:min(n, i+depth)]
		var req, res bytes.Buffer
		var reqPieces, resPieces []piece
		for j, t := range batch {
			t.request(r, &req, j, &reqPieces)
			t.response(r, &res, j, &resPieces)
		}
		send(r, c, true, req.Bytes(), reqPieces, lossy, func(j int) *[]hole { return &batch[j].reqHoles })
		send(r, c, false, res.Bytes(), resPieces, lossy, func(j int) *[]hole { return &batch[j].resHoles })
		i += len(batch)
	}
	if txns[n-1].resFraming == framingClose {
		c.S(segtest.FIN|segtest.ACK, "")
		c.C(segtest.FIN|segtest.ACK, "")
		c.S(ack, "")
	} else {
		c.Close()
	}
	return txns
}

// expectBody is what the body file must hold: the body with its holes
// zeroed, cut at max.
func expectBody(body []byte, holes []hole, max int) ([]byte, bool) {
	b := append([]byte(nil), body...)
	for _, h := range holes {
		clear(b[h.start:h.end])
	}
	if len(b) > max {
		return b[:max], true
	}
	return b, false
}

func holeBytes(hs []hole) int {
	n := 0
	for _, h := range hs {
		n += h.end - h.start
	}
	return n
}

// TestPropertySynth: random transactions give exactly the logged
// transactions and body digests.
func TestPropertySynth(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	for seed := 0; seed < seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 0x4854545021))
		bodyMax := []int{DefaultBodyMax, 3000, 20000}[r.IntN(3)]
		dir := t.TempDir()
		var out bytes.Buffer
		log, err := New(&out, Options{BodiesDir: dir, BodyMax: int64(bodyMax), BufferSize: 4096 + r.IntN(60000)})
		if err != nil {
			t.Fatal(err)
		}
		tab := reassembly.NewTable(reassembly.Config{}, log.Handler())
		nconn := 1 + r.IntN(3)
		want := map[int][]*synthTxn{} // by client port
		for i := 0; i < nconn; i++ {
			port := 40000 + i
			c := &segtest.Conv{T: tab, Client: netip.AddrPortFrom(cli4.Addr(), uint16(port)), Server: srv4,
				TS: t0 + int64(i)*1e9, CSeq: reassembly.Seq(r.Uint32()), SSeq: reassembly.Seq(r.Uint32())}
			want[port] = synthConn(r, c)
		}
		tab.Flush(reassembly.ReasonFlush)
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		got := map[int][]map[string]any{}
		lines := 0
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("seed %d: %v: %s", seed, err, l)
			}
			port := int(v["id.orig_p"].(float64))
			got[port] = append(got[port], v)
			lines++
		}
		files := 0
		for port, txns := range want {
			recs := got[port]
			if len(recs) != len(txns) {
				t.Errorf("seed %d port %d: %d lines, want %d", seed, port, len(recs), len(txns))
				continue
			}
			for i, tx := range txns {
				if err := checkTxn(recs[i], tx, i+1, dir, bodyMax, &files); err != nil {
					t.Errorf("seed %d port %d txn %d: %v\nline %v", seed, port, i+1, err, recs[i])
				}
			}
		}
		if names := listDir(t, dir); len(names) != files {
			t.Errorf("seed %d: %d files in the directory, %d referenced", seed, len(names), files)
		}
		st := log.Stats()
		if st.Logged != uint64(lines) || st.HTTP.Transactions != uint64(lines) || st.BodyFiles != uint64(files) {
			t.Errorf("seed %d: stats %+v, %d lines, %d files", seed, st, lines, files)
		}
	}
}

func checkTxn(v map[string]any, tx *synthTxn, depth int, dir string, bodyMax int, files *int) error {
	num := func(k string) int {
		f, _ := v[k].(float64)
		return int(f)
	}
	if num("trans_depth") != depth || v["method"] != tx.method || v["uri"] != tx.uri || v["host"] != tx.host || v["user_agent"] != "synth" {
		return fmt.Errorf("request fields, want %s %s %s depth %d", tx.method, tx.uri, tx.host, depth)
	}
	if num("status_code") != tx.status || v["status_msg"] != fmt.Sprintf("Status%d", tx.status) || v["content_type"] != "application/octet-stream" {
		return fmt.Errorf("response fields, want %d", tx.status)
	}
	if num("request_body_len") != len(tx.reqBody) || num("response_body_len") != len(tx.resBody) {
		return fmt.Errorf("body lengths, want %d %d", len(tx.reqBody), len(tx.resBody))
	}
	if tx.interim != (num("info_code") == 100) {
		return fmt.Errorf("info_code, want interim %v", tx.interim)
	}
	gap := holeBytes(tx.reqHoles) + holeBytes(tx.resHoles)
	if num("gap_bytes") != gap || (v["gap"] == true) != (gap > 0) {
		return fmt.Errorf("gap_bytes, want %d", gap)
	}
	for _, k := range []string{"incomplete", "no_response", "no_request", "resynced", "tunnel", "bad_framing", "header_limit", "pipeline_overflow"} {
		if v[k] != nil {
			return fmt.Errorf("%s set", k)
		}
	}
	for _, side := range []struct {
		prefix, dir string
		body        []byte
		holes       []hole
	}{{"request", "req", tx.reqBody, tx.reqHoles}, {"response", "res", tx.resBody, tx.resHoles}} {
		name, _ := v[side.prefix+"_body_file"].(string)
		if len(side.body) == 0 {
			if name != "" {
				return fmt.Errorf("%s body file %q for an empty body", side.prefix, name)
			}
			continue
		}
		wantName := fmt.Sprintf("%s-%d-%s", v["uid"], depth, side.dir)
		if side.dir == "res" {
			wantName += ".bin"
		}
		if name != wantName {
			return fmt.Errorf("%s body file %q, want %q", side.prefix, name, wantName)
		}
		*files++
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		want, trunc := expectBody(side.body, side.holes, bodyMax)
		if sha(b) != sha(want) {
			return fmt.Errorf("%s body: %d bytes sha256 %s, want %d bytes sha256 %s", side.prefix, len(b), sha(b), len(want), sha(want))
		}
		if (v[side.prefix+"_body_truncated"] == true) != trunc {
			return fmt.Errorf("%s truncated flag, want %v", side.prefix, trunc)
		}
	}
	return nil
}
