package connlog

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/internal/segtest"
	"github.com/fastsniff/fastsniff/reassembly"
)

type namer map[uint32]string

func (n namer) AppendName(b []byte, id uint32) []byte { return append(b, n[id]...) }

// TestTunnelField: a connection keyed by tunnel (Segment.Tunnel) gets the
// tunnel field, named by Options.Tunnels or else by its hash; one without
// a tunnel has none.
func TestTunnelField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tunnel uint32
		names  TunnelNamer
		want   string // the field, or "" for none
	}{
		{"named", 0xdeadbeef, namer{0xdeadbeef: "gre/erspan2(session=20)/vxlan(vni=0)"}, `,"tunnel":"gre/erspan2(session=20)/vxlan(vni=0)","proto"`},
		{"hash", 0xbeef, nil, `,"tunnel":"0xbeef","proto"`},
		{"none", 0, namer{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			log := New(&out, Options{Tunnels: tc.names})
			tab := reassembly.NewTable(reassembly.Config{}, log.Handler())
			c := &segtest.Conv{T: tab, Client: netip.MustParseAddrPort("10.0.0.1:1000"), Server: netip.MustParseAddrPort("10.0.0.2:80"),
				VLANs: reassembly.VLANs{IDs: [4]uint16{7}, N: 1}, Tunnel: tc.tunnel, TS: 1e18}
			c.Handshake()
			c.C(segtest.ACK|segtest.PSH, "hello")
			c.Close()
			tab.Flush(reassembly.ReasonFlush)
			if err := log.Close(); err != nil {
				t.Fatal(err)
			}
			line := out.String()
			if tc.want == "" {
				if strings.Contains(line, "tunnel") {
					t.Errorf("tunnel field without a tunnel: %s", line)
				}
			} else if !strings.Contains(line, `"vlan":[7]`+tc.want) {
				t.Errorf("line %s lacks %s", line, tc.want)
			}
			recs, err := Read(&out)
			if err != nil || len(recs) != 1 {
				t.Fatalf("Read: %v %d", err, len(recs))
			}
			if want, _ := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(tc.want, `,"tunnel":`), `,"proto"`)); recs[0].Tunnel != want {
				t.Errorf("Read: tunnel %q, want %q", recs[0].Tunnel, want)
			}
		})
	}
}
