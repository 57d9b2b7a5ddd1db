package http1

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// piece is a run of stream bytes preceded by gap missing bytes.
type piece struct {
	gap  uint64
	data string
}

func bytesOf(s string) []piece { return []piece{{data: s}} }

// recorder logs every callback as a line of text and collects bodies.
type recorder struct {
	t      testing.TB
	events []string
	bodies map[*Message]*strings.Builder
	hdrs   map[string]string // "d=N req|res" -> headers rendered
	seenH  int               // Headers sink calls
	ts     bool              // include Start/End in the lines
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, bodies: map[*Message]*strings.Builder{}, hdrs: map[string]string{}}
}

func (r *recorder) Body(m *Message, chunk []byte, c *reassembly.Conn) {
	b := r.bodies[m]
	if b == nil {
		b = &strings.Builder{}
		r.bodies[m] = b
	}
	b.Write(chunk)
}

func (r *recorder) Headers(m *Message, c *reassembly.Conn) { r.seenH++ }

func (r *recorder) takeBody(m *Message) string {
	b := r.bodies[m]
	delete(r.bodies, m)
	if b == nil {
		return ""
	}
	return b.String()
}

func renderHeader(h *Header) string {
	var sb strings.Builder
	for i := 0; i < h.Len(); i++ {
		n, v := h.At(i)
		fmt.Fprintf(&sb, "%s: %s\n", n, v)
	}
	return sb.String()
}

func (r *recorder) msgLine(m *Message, body string) string {
	s := fmt.Sprintf("%s cl=%d ch=%v close=%v hdr=%d wire=%d body=%d gap=%d flags=%v",
		m.Proto, m.ContentLength, m.Chunked, m.Close, m.HeaderLen, m.WireLen, m.BodyLen, m.GapLen, m.Flags)
	if body != "" {
		s += fmt.Sprintf(" %q", body)
	}
	if m.Trailer.Len() > 0 {
		s += fmt.Sprintf(" trailer=%q", renderHeader(&m.Trailer))
	}
	if r.ts {
		s += fmt.Sprintf(" ts=%d-%d", m.Start, m.End)
	}
	return s
}

func (r *recorder) Request(req *Request, c *reassembly.Conn) {
	body := r.takeBody(&req.Message)
	if int(req.BodyLen-req.GapLen) != len(body) {
		r.t.Errorf("request d=%d: BodyLen %d - GapLen %d != %d body bytes delivered", req.Depth, req.BodyLen, req.GapLen, len(body))
	}
	r.hdrs[fmt.Sprintf("%d req", req.Depth)] = renderHeader(&req.Header)
	r.events = append(r.events, fmt.Sprintf("req d=%d %s %s %s", req.Depth, req.Method, req.URI, r.msgLine(&req.Message, body)))
}

func (r *recorder) Response(res *Response, req *Request, c *reassembly.Conn) {
	to := "-"
	if req != nil {
		to = req.URI
	}
	if res == nil {
		r.events = append(r.events, fmt.Sprintf("res d=%d none to=%s flags=%v", req.Depth, to, req.Flags))
		return
	}
	if res.Request() != req {
		r.t.Errorf("res.Request() %p != req %p", res.Request(), req)
	}
	body := r.takeBody(&res.Message)
	if int(res.BodyLen-res.GapLen) != len(body) {
		r.t.Errorf("response d=%d: BodyLen %d - GapLen %d != %d body bytes delivered", res.Depth, res.BodyLen, res.GapLen, len(body))
	}
	r.hdrs[fmt.Sprintf("%d res", res.Depth)] = renderHeader(&res.Header)
	in := ""
	if res.Interim != 0 {
		in = fmt.Sprintf(" interim=%d", res.Interim)
	}
	r.events = append(r.events, fmt.Sprintf("res d=%d %d %q to=%s%s %s", res.Depth, res.StatusCode, res.Reason, to, in, r.msgLine(&res.Message, body)))
}

func (r *recorder) Interim(res *Response, req *Request, c *reassembly.Conn) {
	to := "-"
	if req != nil {
		to = req.URI
	}
	r.events = append(r.events, fmt.Sprintf("interim d=%d %d %q to=%s", res.Depth, res.StatusCode, res.Reason, to))
}

// split cuts pieces into Data calls: cut(n) says how long the next call
// may be (at least 1).
func split(ps []piece, cut func() int) []reassembly.Data {
	var out []reassembly.Data
	var off uint64
	for _, p := range ps {
		off += p.gap
		gap := p.gap
		b := []byte(p.data)
		if len(b) == 0 && gap > 0 {
			out = append(out, reassembly.Data{Gap: gap, Offset: off})
			continue
		}
		for len(b) > 0 {
			n := min(cut(), len(b))
			out = append(out, reassembly.Data{Bytes: b[:n:n], Gap: gap, Offset: off, TS: int64(off)})
			off += uint64(n)
			b = b[n:]
			gap = 0
		}
	}
	return out
}

func whole() int { return 1 << 30 }
func ones() int  { return 1 }

func randCut(rng *rand.Rand) func() int {
	return func() int {
		if rng.Intn(4) == 0 {
			return 1 + rng.Intn(3)
		}
		return 1 + rng.Intn(64)
	}
}

type result struct {
	events []string
	stats  Stats
	rec    *recorder
}

// runConn feeds one connection: the client's pieces, then the server's,
// then a close.
func runConn(t testing.TB, cfg Config, client, server []piece, cut func() int, reason reassembly.Reason) result {
	rec := newRecorder(t)
	p := NewParser(cfg, rec)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	for _, d := range split(client, cut) {
		p.Feed(s, c, reassembly.FromClient, d)
	}
	for _, d := range split(server, cut) {
		p.Feed(s, c, reassembly.FromServer, d)
	}
	p.Close(s, c, reason)
	if p.stalls != 0 {
		t.Errorf("progress guard fired %d times", p.stalls)
	}
	if len(rec.bodies) != 0 {
		t.Errorf("%d bodies never delivered", len(rec.bodies))
	}
	return result{rec.events, p.Stats(), rec}
}

// schedule is a list of (dir, pieces) steps fed in order.
type step struct {
	dir reassembly.Dir
	ps  []piece
}

func runSteps(t testing.TB, cfg Config, steps []step, cut func() int, reason reassembly.Reason) result {
	rec := newRecorder(t)
	p := NewParser(cfg, rec)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	var off [2]uint64
	for _, st := range steps {
		for _, d := range split(st.ps, cut) {
			d.Offset += off[st.dir]
			p.Feed(s, c, st.dir, d)
		}
		for _, pc := range st.ps {
			off[st.dir] += pc.gap + uint64(len(pc.data))
		}
	}
	p.Close(s, c, reason)
	if p.stalls != 0 {
		t.Errorf("progress guard fired %d times", p.stalls)
	}
	return result{rec.events, p.Stats(), rec}
}

func sameEvents(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
