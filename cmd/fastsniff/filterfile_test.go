package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFilterText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"tcp port 8888\n", "tcp port 8888"},
		{"# the web\ntcp port 80 # http\n\tand not host 10.1.2.3\n", "tcp port 80 and not host 10.1.2.3"},
		{"tcp\r\nport 53", "tcp port 53"},
		{"# all of it is comment\n#\n", ""},
	} {
		if got := filterText([]byte(tc.in)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

// -F FILE filters as the same expression after the flags does (the DNS
// connection of the seed's dump is left out); with one after the flags as
// well, or a file that cannot be read, it is an error.
func TestFilterFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "web.bpf")
	if err := os.WriteFile(f, []byte("# seed test 04: the web server only\ntcp # no UDP\n  and port 8888\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	all := seedRun(t, "sniffer-04-other-port-8888.pcap")
	args := seedRun(t, "sniffer-04-other-port-8888.pcap", "tcp and port 8888")
	file := seedRun(t, "sniffer-04-other-port-8888.pcap", "-F", f)
	if len(all.conns) != 2 || len(file.conns) != 1 || file.conns[0].RespP != 8888 {
		t.Fatalf("%d connections without a filter, %d with -F: want 2 and the one to port 8888", len(all.conns), len(file.conns))
	}
	if len(args.conns) != 1 || !reflect.DeepEqual(file.conns[0], args.conns[0]) {
		t.Errorf("-F: %+v\nexpression: %+v", file.conns, args.conns)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-F", f, "tcp"}, "exclude each other"},
		{[]string{"-F", filepath.Join(dir, "missing")}, "-F: open " + filepath.Join(dir, "missing")},
	} {
		res := seedCLI(t, append([]string{"-r", filepath.Join(seedPcapDir, "sniffer-04-other-port-8888.pcap")}, tc.args...)...)
		if res.code == 0 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q: want an error with %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}
