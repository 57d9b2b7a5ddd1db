package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseLocalNets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // nil: an error
	}{
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"192.168.1.7/16, 2001:db8::/32", []string{"192.168.0.0/16", "2001:db8::/32"}},
		{"10.1.2.3,::ffff:10.9.9.9,2001:db8::1", []string{"10.1.2.3/32", "10.9.9.9/32", "2001:db8::1/128"}},
		{"fe80::1%eth0", []string{"fe80::1/128"}},
		{"", nil},
		{" , ", nil},
		{"10.0.0.0/33", nil},
		{"300.1.1.0/8", nil},
		{"localhost", nil},
	} {
		nets, err := parseLocalNets(tc.in)
		var got []string
		for _, p := range nets {
			got = append(got, p.String())
		}
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q: %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

// --local-nets (repeatable) marks each side of each connection; without it
// the fields are absent. The dump has a DNS connection 192.168.1.19 >
// 192.168.1.102:53 and an HTTP one 192.168.1.19 > 62.56.51.107:8888.
func TestLocalNets(t *testing.T) {
	pcap := filepath.Join(seedPcapDir, "sniffer-04-other-port-8888.pcap")
	plain := seedCLI(t, "-r", pcap)
	if len(plain.conns) != 2 || plain.conns[0].LocalOrig != nil || plain.conns[0].LocalResp != nil {
		t.Fatalf("without --local-nets: %+v", plain.conns)
	}
	for _, tc := range []struct {
		args []string
		want map[uint16][2]bool // by server port: local_orig, local_resp
	}{
		{[]string{"--local-nets", "192.168.1.0/24"}, map[uint16][2]bool{53: {true, true}, 8888: {true, false}}},
		{[]string{"--local-nets", "62.56.51.107"}, map[uint16][2]bool{53: {false, false}, 8888: {false, true}}},
		{[]string{"--local-nets", "198.51.100.0/24", "--local-nets", "192.168.1.19,62.56.51.0/24"}, map[uint16][2]bool{53: {true, false}, 8888: {true, true}}},
		{[]string{"--local-nets", "198.51.100.0/24,2001:db8::/32"}, map[uint16][2]bool{53: {false, false}, 8888: {false, false}}},
	} {
		res := seedCLI(t, append([]string{"-r", pcap}, tc.args...)...)
		if res.code != 0 || len(res.conns) != 2 {
			t.Fatalf("%q: exit %d, %d connections: %s", tc.args, res.code, len(res.conns), res.stderr)
		}
		for _, r := range res.conns {
			w, ok := tc.want[r.RespP]
			if !ok || r.LocalOrig == nil || r.LocalResp == nil || *r.LocalOrig != w[0] || *r.LocalResp != w[1] {
				t.Errorf("%q: %s>%s:%d local_orig %v local_resp %v, want %v", tc.args, r.OrigH, r.RespH, r.RespP, deref(r.LocalOrig), deref(r.LocalResp), w)
			}
		}
	}
	res := seedCLI(t, "-r", pcap, "--local-nets", "10.0.0.0/40")
	if res.code == 0 || !strings.Contains(res.stderr, `"10.0.0.0/40"`) {
		t.Errorf("a bad prefix: exit %d, %s", res.code, res.stderr)
	}
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
