package connlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/reassembly"
)

func TestUID(t *testing.T) {
	for _, tc := range []struct {
		id   uint64
		want string
	}{
		{0, "C00000000000"},
		{1, "C00000000001"},
		{61, "C0000000000z"},
		{62, "C00000000010"},
		{math.MaxUint64, "CLygHa16AHYF"},
	} {
		got := UID(tc.id)
		if got != tc.want {
			t.Errorf("UID(%d) = %q, want %q", tc.id, got, tc.want)
		}
		if len(got) != UIDLen {
			t.Errorf("len(UID(%d)) = %d", tc.id, len(got))
		}
		if back, ok := ParseUID(got); !ok || back != tc.id {
			t.Errorf("ParseUID(%q) = %d, %v", got, back, ok)
		}
	}
	// Uids sort like their IDs.
	ids := []uint64{0, 9, 10, 35, 36, 61, 62, 1 << 40, math.MaxUint64}
	for i := 1; i < len(ids); i++ {
		if !(UID(ids[i-1]) < UID(ids[i])) {
			t.Errorf("UID(%d) >= UID(%d)", ids[i-1], ids[i])
		}
	}
	for _, bad := range []string{"", "C", "X00000000000", "C0000000000!", "CzzzzzzzzzzZ", "Czzzzzzzzzzz"} {
		if _, ok := ParseUID(bad); ok {
			t.Errorf("ParseUID(%q) ok", bad)
		}
	}
}

func TestAppendTime(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, "0.000000"},
		{999, "0.000000"},
		{1000, "0.000001"},
		{1_600_000_000_123_456_789, "1600000000.123456"},
		{1_258_531_221_486_539_000, "1258531221.486539"},
		{-1, "-0.000001"},
		{-1_500_000_000, "-1.500000"},
	} {
		if got := string(AppendTime(nil, tc.ns)); got != tc.want {
			t.Errorf("AppendTime(%d) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "ShADadFf", "a\"b\\c", "\x00\x01\x1f\n\r\t", "héllo", "\u2028\u2029",
		"bad\xffutf8", "\xc3", "tab\tend", "<&>",
	} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s: %v", s, got, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("AppendString(%q) decodes to %q, want %q", s, back, want)
		}
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		_ = e.Encode(s)
		if exp := bytes.TrimSuffix(enc.Bytes(), []byte{'\n'}); !bytes.Equal(got, exp) {
			t.Errorf("AppendString(%q) = %s, encoding/json gives %s", s, got, exp)
		}
	}
}

// dir builds DirStats: flags is a string of S F R letters.
func dir(pkts, delivered, missed uint64, flags string) reassembly.DirStats {
	return reassembly.DirStats{
		Packets: pkts, Delivered: delivered, Missed: missed, Bytes: delivered,
		SYN: strings.Contains(flags, "S"),
		FIN: strings.Contains(flags, "F"),
		RST: strings.Contains(flags, "R"),
	}
}

func TestConnState(t *testing.T) {
	for _, tc := range []struct {
		name       string
		orig, resp reassembly.DirStats
		midstream  bool
		history    string
		want       string
	}{
		{"syn no reply", dir(1, 0, 0, "S"), dir(0, 0, 0, ""), false, "S", "S0"},
		{"syn retried", dir(3, 0, 0, "S"), dir(0, 0, 0, ""), false, "ST", "S0"},
		{"established open", dir(3, 10, 0, "S"), dir(2, 5, 0, "S"), false, "ShAD", "S1"},
		{"normal close", dir(5, 10, 0, "SF"), dir(4, 5, 0, "SF"), false, "ShADadFf", "SF"},
		{"rejected", dir(1, 0, 0, "S"), dir(1, 0, 0, "R"), false, "Sr", "REJ"},
		{"rejected after orig rst", dir(2, 0, 0, "SR"), dir(1, 0, 0, "SR"), false, "ShRr", "REJ"},
		{"orig closes only", dir(4, 10, 0, "SF"), dir(3, 5, 0, "S"), false, "ShADadF", "S2"},
		{"resp closes only", dir(4, 10, 0, "S"), dir(3, 5, 0, "SF"), false, "ShADadf", "S3"},
		{"orig aborts", dir(4, 10, 0, "SR"), dir(3, 5, 0, "S"), false, "ShADadR", "RSTO"},
		{"orig aborts after fins", dir(5, 10, 0, "SFR"), dir(4, 5, 0, "SF"), false, "ShADadFfR", "RSTO"},
		{"resp aborts", dir(4, 10, 0, "S"), dir(3, 5, 0, "SR"), false, "ShADadr", "RSTR"},
		{"syn then rst", dir(2, 0, 0, "SR"), dir(0, 0, 0, ""), false, "SR", "RSTOS0"},
		{"midstream orig rst", dir(2, 10, 0, "R"), dir(1, 5, 0, ""), true, "^DdR", "OTH"}, // resp PARTIAL counts as inactive
		{"midstream rst only", dir(1, 0, 0, "R"), dir(0, 0, 0, ""), true, "R", "OTH"},
		{"synack then rst", dir(0, 0, 0, ""), dir(2, 0, 0, "SR"), true, "^hr", "RSTRH"},
		{"resp rst midstream", dir(2, 10, 0, ""), dir(2, 5, 0, "R"), true, "DdR", "RSTRH"},
		{"syn then fin", dir(2, 0, 0, "SF"), dir(0, 0, 0, ""), false, "SF", "SH"},
		{"synack then fin", dir(0, 0, 0, ""), dir(2, 0, 0, "SF"), true, "^hf", "SHR"},
		{"midstream data", dir(3, 10, 0, ""), dir(3, 5, 0, ""), true, "^DdA", "OTH"},
		{"midstream both fin", dir(3, 10, 0, "F"), dir(3, 5, 0, "F"), true, "DdFf", "SF"},
		{"midstream one side", dir(3, 10, 0, ""), dir(0, 0, 0, ""), true, "D", "OTH"},
		{"nothing", dir(0, 0, 0, ""), dir(0, 0, 0, ""), false, "", "OTH"},
	} {
		if got := ConnState(tc.orig, tc.resp, tc.midstream, tc.history); got != tc.want {
			t.Errorf("%s: ConnState = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRSTOS0History(t *testing.T) {
	for h, want := range map[string]bool{
		"SR": true, "^SR": true, "STR": true, "SrR": true, "SdR": true,
		"ShR": true /* case-sensitive, as Zeek */, "SHR": false, "SAR": false, "SFR": false, "R": false, "": false, "S": false, "^R": false,
	} {
		if got := rstos0History(h); got != want {
			t.Errorf("rstos0History(%q) = %v", h, got)
		}
	}
}

func TestAppendRecord(t *testing.T) {
	sumA := sha256.Sum256([]byte("hello"))
	sumE := sha256.Sum256(nil)
	v6c := netip.MustParseAddrPort("[2001:db8::1]:40000")
	v6s := netip.MustParseAddrPort("[2001:db8::2]:443")
	for _, tc := range []struct {
		name    string
		rec     record
		history string
		want    string
	}{{
		name: "v4 sf", history: "ShADadFf",
		rec: record{
			id: 62, client: netip.MustParseAddrPort("10.0.0.1:1234"), server: netip.MustParseAddrPort("10.0.0.2:80"),
			start: 1_600_000_000_123_456_789, last: 1_600_000_001_500_000_000,
			st:     [2]reassembly.DirStats{dir(5, 5, 0, "SF"), dir(4, 7, 3, "SF")},
			reason: reassembly.ReasonFIN,
		},
		want: `{"ts":1600000000.123456,"uid":"C00000000010","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","duration":1.376544,"orig_bytes":5,"resp_bytes":10,"conn_state":"SF","missed_bytes":3,"history":"ShADadFf","orig_pkts":5,"resp_pkts":4,"close_reason":"fin","orig_delivered":5,"resp_delivered":7}` + "\n",
	}, {
		name: "v6 vlan digest", history: "S",
		rec: record{
			id: 1, client: v6c, server: v6s, vlans: reassembly.VLANs{IDs: [4]uint16{100, 200}, N: 2},
			start: 5_000_000_000, last: 5_000_000_000,
			st:     [2]reassembly.DirStats{dir(1, 5, 0, "S"), dir(0, 0, 0, "")},
			reason: reassembly.ReasonTimeout,
			digest: true, sum: [2][]byte{sumA[:], sumE[:]},
		},
		want: `{"ts":5.000000,"uid":"C00000000001","id.orig_h":"2001:db8::1","id.orig_p":40000,"id.resp_h":"2001:db8::2","id.resp_p":443,"vlan":[100,200],"proto":"tcp","duration":0.000000,"orig_bytes":5,"resp_bytes":0,"conn_state":"S0","missed_bytes":0,"history":"S","orig_pkts":1,"resp_pkts":0,"close_reason":"timeout","orig_delivered":5,"resp_delivered":0,"orig_sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","resp_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}` + "\n",
	}, {
		name: "directions joined across VLANs", history: "Sh",
		rec: record{
			id: 2, client: netip.MustParseAddrPort("10.0.0.1:1234"), server: netip.MustParseAddrPort("10.0.0.2:80"),
			vlans: reassembly.VLANs{IDs: [4]uint16{10}, N: 1}, joined: true,
			start: 5_000_000_000, last: 5_000_000_000,
			st:     [2]reassembly.DirStats{dir(1, 0, 0, "S"), dir(1, 0, 0, "S")},
			reason: reassembly.ReasonFlush,
		},
		want: `{"ts":5.000000,"uid":"C00000000002","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":80,"vlan":[10],"resp_vlan":[],"proto":"tcp","duration":0.000000,"orig_bytes":0,"resp_bytes":0,"conn_state":"S1","missed_bytes":0,"history":"Sh","orig_pkts":1,"resp_pkts":1,"close_reason":"flush","orig_delivered":0,"resp_delivered":0}` + "\n",
	}, {
		// the Community ID spec's TCP baseline row, seed 0, the server as client
		name: "community id", history: "S",
		rec: record{
			id: 3, client: netip.MustParseAddrPort("66.35.250.204:80"), server: netip.MustParseAddrPort("128.232.110.120:34855"),
			start: 5_000_000_000, last: 5_000_000_000,
			st:     [2]reassembly.DirStats{dir(1, 0, 0, "S"), dir(0, 0, 0, "")},
			reason: reassembly.ReasonFlush, cid: communityid.Field{On: true}, service: []byte("http,ssl"),
		},
		want: `{"ts":5.000000,"uid":"C00000000003","id.orig_h":"66.35.250.204","id.orig_p":80,"id.resp_h":"128.232.110.120","id.resp_p":34855,"proto":"tcp","service":"http,ssl","duration":0.000000,"orig_bytes":0,"resp_bytes":0,"conn_state":"S0","missed_bytes":0,"history":"S","orig_pkts":1,"resp_pkts":0,"close_reason":"flush","orig_delivered":0,"resp_delivered":0,"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="}` + "\n",
	}, {
		// Zeek's Site::local_nets: the client in one, the server in none
		name: "local nets", history: "S",
		rec: record{
			id: 4, client: netip.MustParseAddrPort("[::ffff:192.168.1.7]:5000"), server: v6s,
			start: 5_000_000_000, last: 5_000_000_000,
			st:     [2]reassembly.DirStats{dir(1, 0, 0, "S"), dir(0, 0, 0, "")},
			reason: reassembly.ReasonFlush,
			local:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("2001:db8::1/128")},
		},
		want: `{"ts":5.000000,"uid":"C00000000004","id.orig_h":"::ffff:192.168.1.7","id.orig_p":5000,"id.resp_h":"2001:db8::2","id.resp_p":443,"proto":"tcp","duration":0.000000,"orig_bytes":0,"resp_bytes":0,"conn_state":"S0","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"S","orig_pkts":1,"resp_pkts":0,"close_reason":"flush","orig_delivered":0,"resp_delivered":0}` + "\n",
	}} {
		got := string(appendRecord(nil, &tc.rec, tc.history))
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		recs, err := Read(strings.NewReader(got))
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: Read: %v %d", tc.name, err, len(recs))
		}
		if recs[0].UID != UID(tc.rec.id) || recs[0].OrigP != tc.rec.client.Port() || recs[0].Service != string(tc.rec.service) {
			t.Errorf("%s: read back %+v", tc.name, recs[0])
		}
	}
}

func TestSortLines(t *testing.T) {
	in := "{\"ts\":2}\n{\"ts\":1}\n{\"ts\":3}"
	if got := string(SortLines([]byte(in))); got != "{\"ts\":1}\n{\"ts\":2}\n{\"ts\":3}\n" {
		t.Errorf("SortLines = %q", got)
	}
}
