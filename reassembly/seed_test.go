package reassembly

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// readRawSegments parses the seed module's dump format: a bare TCP header
// and payload per file, no IP header.
func readRawSegments(t *testing.T) []*Segment {
	t.Helper()
	files, err := filepath.Glob("testdata/seed-chunked/*.dump")
	if err != nil || len(files) != 10 {
		t.Fatalf("want 10 dumps, got %d (%v)", len(files), err)
	}
	sort.Strings(files)
	cli := netip.MustParseAddr("192.0.2.1")
	srv := netip.MustParseAddr("192.0.2.80")
	var segs []*Segment
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hl := int(b[12]>>4) * 4
		s := &Segment{
			TS:      epoch0 + int64(i)*1e6,
			SrcPort: binary.BigEndian.Uint16(b[0:]),
			DstPort: binary.BigEndian.Uint16(b[2:]),
			Seq:     Seq(binary.BigEndian.Uint32(b[4:])),
			Ack:     Seq(binary.BigEndian.Uint32(b[8:])),
			Flags:   Flags(b[13]),
			Window:  binary.BigEndian.Uint16(b[14:]),
			WScale:  -1,
			Payload: b[hl:],
		}
		// a minimum-size Ethernet frame pads a bare 20-byte header with 6
		// zero bytes; the dump kept them (see testdata README)
		if hl == 20 && len(s.Payload) == 6 && strings.Trim(string(s.Payload), "\x00") == "" {
			s.Payload = nil
		}
		if s.SrcPort == 80 {
			s.SetAddrs(srv, cli)
		} else {
			s.SetAddrs(cli, srv)
		}
		segs = append(segs, s)
	}
	return segs
}

func TestSeedChunkedSegments(t *testing.T) {
	segs := readRawSegments(t)
	// the file order, and an order where the response and its ACKs arrive
	// before the request (as the seed fed them): same streams
	orders := map[string][]int{
		"capture order":  {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		"reordered data": {0, 1, 2, 5, 6, 3, 4, 7, 9, 8},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			r := newRecorder()
			tb := NewTable(Config{}, r)
			for _, i := range order {
				tb.Feed(segs[i])
			}
			tb.Flush(ReasonFlush)
			if len(r.conns) != 1 {
				t.Fatalf("%d connections, want 1", len(r.conns))
			}
			c := r.conns[0]
			req := string(c.streams[FromClient])
			res := string(c.streams[FromServer])
			if len(req) != 131 || !strings.HasPrefix(req, "GET /does_not_exist HTTP/1.1\r\n") || !strings.HasSuffix(req, "\r\n\r\n") {
				t.Errorf("request (%d bytes): %q", len(req), req)
			}
			if len(res) != 405 || !strings.HasPrefix(res, "HTTP/1.1 404 Not Found\r\n") || !strings.HasSuffix(res, "</BODY></HTML>\n\r\n0\r\n\r\n") {
				t.Errorf("response (%d bytes): %q", len(res), res)
			}
			if c.reason != ReasonFIN || c.client.Port() != 2537 || c.server.Port() != 80 {
				t.Errorf("reason %v client %v server %v", c.reason, c.client, c.server)
			}
			if len(c.gaps[0])+len(c.gaps[1]) != 0 || c.unacked != [2]uint64{} {
				t.Errorf("gaps %v unacked %v", c.gaps, c.unacked)
			}
		})
	}
}
