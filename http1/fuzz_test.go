package http1

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// fuzzCfg is small so that every limit is within reach of short inputs.
var fuzzCfg = Config{MaxLineLen: 64, MaxHeaders: 4, MaxHeaderBytes: 256, MaxPipeline: 3, MaxSniff: 512, MaxHold: 128}

// toPieces cuts a stream into pieces with gaps chosen by rng (none when
// gaps is false).
func toPieces(b []byte, rng *rand.Rand, gaps bool) []piece {
	if !gaps || len(b) == 0 {
		return []piece{{data: string(b)}}
	}
	var ps []piece
	for len(b) > 0 {
		n := 1 + rng.Intn(len(b))
		var g uint64
		if len(ps) > 0 || rng.Intn(4) == 0 {
			g = uint64(rng.Intn(40))
		}
		ps = append(ps, piece{gap: g, data: string(b[:n])})
		b = b[n:]
	}
	return ps
}

// checkBounds asserts the per-connection memory bounds.
func checkBounds(t *testing.T, p *Parser, s *ConnState) {
	cfg := p.cfg
	if s.qn > cfg.MaxPipeline || len(s.q) > cfg.MaxPipeline {
		t.Fatalf("queue %d/%d", s.qn, len(s.q))
	}
	for i := range s.d {
		ds := &s.d[i]
		if len(ds.line) > cfg.MaxLineLen+1 {
			t.Fatalf("line buffer %d", len(ds.line))
		}
		if len(ds.hold) > cfg.MaxHold {
			t.Fatalf("hold buffer %d", len(ds.hold))
		}
		if m := ds.msg(); m != nil {
			for _, h := range []*Header{&m.Header, &m.Trailer} {
				if len(h.raw) > cfg.MaxHeaderBytes || h.Len() > cfg.MaxHeaders {
					t.Fatalf("header %d bytes %d fields", len(h.raw), h.Len())
				}
			}
		}
	}
}

func fuzzRun(t *testing.T, client, server []piece, cut func() int, r reassembly.Reason) result {
	rec := newRecorder(t)
	p := NewParser(fuzzCfg, rec)
	c := &reassembly.Conn{}
	s := p.NewConnState()
	for _, d := range split(client, cut) {
		p.Feed(s, c, reassembly.FromClient, d)
		checkBounds(t, p, s)
	}
	for _, d := range split(server, cut) {
		p.Feed(s, c, reassembly.FromServer, d)
		checkBounds(t, p, s)
	}
	p.Close(s, c, r)
	if p.stalls != 0 {
		t.Fatalf("progress guard fired")
	}
	if len(rec.bodies) != 0 {
		t.Fatalf("bodies never delivered")
	}
	st := p.Stats()
	if st.Transactions != st.Responses+st.NoResponse || st.Requests+st.NoRequest < st.Transactions {
		t.Fatalf("inconsistent stats %+v", st)
	}
	return result{rec.events, st, rec}
}

func FuzzParser(f *testing.F) {
	for _, tc := range cases() {
		var c, s strings.Builder
		for _, p := range tc.client {
			c.WriteString(p.data)
		}
		for _, p := range tc.server {
			s.WriteString(p.data)
		}
		f.Add([]byte(c.String()), []byte(s.String()), int64(len(tc.name)), false)
		f.Add([]byte(c.String()), []byte(s.String()), int64(len(tc.name)), true)
	}
	f.Fuzz(runFuzzOne)
}

func runFuzzOne(t *testing.T, client, server []byte, seed int64, gaps bool) {
	{
		rng := rand.New(rand.NewSource(seed))
		cp, sp := toPieces(client, rng, gaps), toPieces(server, rng, gaps)
		r := reassembly.Reason(rng.Intn(3))
		ref := fuzzRun(t, cp, sp, whole, r)
		got := fuzzRun(t, cp, sp, randCut(rng), r)
		if strings.Join(got.events, "\n") != strings.Join(ref.events, "\n") || got.stats != ref.stats {
			t.Fatalf("random pieces differ from whole pieces:\n%s\n%+v\nvs\n%s\n%+v",
				strings.Join(got.events, "\n"), got.stats, strings.Join(ref.events, "\n"), ref.stats)
		}
	}
}
