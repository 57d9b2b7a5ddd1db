package flowgen_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/flowgen"
	"github.com/fastsniff/fastsniff/reassembly"
)

// TestEncapFrames decodes every packet of a mixed capture (IPv4, IPv6,
// VLANs, oversized segments) plain and in each encapsulation: the decoder
// must find the same segment, inside the expected tunnel chain.
func TestEncapFrames(t *testing.T) {
	want := map[flowgen.Encap]string{
		flowgen.EncapVXLAN:   "vxlan(vni=4097)",
		flowgen.EncapGENEVE:  "geneve(vni=4097)",
		flowgen.EncapGRE:     "gre(key=0x00001001)",
		flowgen.EncapERSPAN2: "gre/erspan2(session=1)",
		flowgen.EncapERSPAN3: "gre/erspan3(session=1)",
		flowgen.EncapMPLS:    "mpls(label=4097)",
		flowgen.EncapPPPoE:   "pppoe(session=0x1001)",
		flowgen.EncapIPIP:    "ipip",
		flowgen.EncapGTPU:    "gtpu(teid=0x00001001)",
	}
	if len(want) != len(flowgen.Encaps()) {
		t.Fatalf("%d encapsulations, %d tested", len(flowgen.Encaps()), len(want))
	}
	for _, e := range flowgen.Encaps() {
		t.Run(e.String(), func(t *testing.T) {
			if got, err := flowgen.ParseEncap(e.String()); err != nil || got != e {
				t.Fatalf("ParseEncap(%q) = %v, %v", e, got, err)
			}
			cfg := flowgen.Mixed(7)
			cfg.Conns = 40
			cfg.Encap, cfg.EncapID = e, 0x1001
			if e == flowgen.EncapPPPoE || e == flowgen.EncapGTPU {
				if _, err := flowgen.Generate(cfg); err == nil {
					t.Fatal("Oversize with a 16-bit length accepted")
				}
				cfg.Oversize = 0
			}
			c, err := flowgen.Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			plainDec, wrapDec := decode.New(decode.Config{}), decode.New(decode.Config{})
			var plain, wrapped []byte
			var s1, s2 reassembly.Segment
			n := 0
			for _, p := range c.All() {
				wrapped = p.AppendFrame(wrapped[:0])
				if len(wrapped) != p.FrameLen() {
					t.Fatalf("frame %d bytes, FrameLen %d", len(wrapped), p.FrameLen())
				}
				q := *p
				q.Encap = flowgen.EncapNone
				plain = q.AppendFrame(plain[:0])
				r1, _ := plainDec.Decode(decode.LinkEthernet, plain, len(plain), p.TS, &s1)
				r2, why := wrapDec.Decode(decode.LinkEthernet, wrapped, len(wrapped), p.TS, &s2)
				if r1 != decode.ResultTCP || r2 != decode.ResultTCP {
					t.Fatalf("packet %d: plain %v, wrapped %v %v", n, r1, r2, why)
				}
				if got := wrapDec.Tunnel().String(); got != want[e] {
					t.Fatalf("chain %q, want %q", got, want[e])
				}
				if !bytes.Equal(s1.Payload, s2.Payload) || !bytes.Equal(s2.Payload, p.Payload) {
					t.Fatalf("packet %d: payloads differ", n)
				}
				s1.Payload, s2.Payload = nil, nil
				if !reflect.DeepEqual(s1, s2) {
					t.Fatalf("packet %d:\nplain   %+v\nwrapped %+v", n, s1, s2)
				}
				n++
			}
			if st := wrapDec.Stats(); st.Tunnelled != uint64(n) || st.Malformed != 0 || n != c.Len() {
				t.Errorf("%d packets, stats %+v", n, st)
			}
		})
	}
	if _, err := flowgen.ParseEncap("nope"); err == nil {
		t.Error("ParseEncap accepted nope")
	}
}
