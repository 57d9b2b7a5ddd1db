package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

type rec struct {
	ts   int64
	data string
	wire int
}

// readRecs reads every packet of a capture (pcap, pcapng, gzip) with the
// project's reader.
func readRecs(t *testing.T, path string) ([]rec, []layers.LinkType) {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []rec
	var links []layers.LinkType
	ps := make([]pcapfile.Packet, 64)
	for {
		n, err := r.ReadBatch(ps)
		for _, p := range ps[:n] {
			out = append(out, rec{p.TS, string(p.Data), p.OrigLen})
			links = append(links, layers.LinkType(p.Link))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return out, links
}

// TestWriteOffline: `-r in -w out` writes exactly the input's TCP packets,
// unchanged, in order, with their timestamps, whatever the reading mode
// (every worker reading, or one reader for pcapng and many workers). TCP
// is what gopacket finds a TCP layer in (the captures have no fragments).
func TestWriteOffline(t *testing.T) {
	for _, name := range []string{"tr-test-mixed.pcap", "ak-twovlan.pcap", "zk-vlan-qinqinq.pcap", "tf-test4-ipv6-rawip.pcap", "td-mptcp-v1-sll.pcap", "sniffer-06-gmail.pcap", "zk-ldap-gap-126idb.pcapng"} {
		in := filepath.Join("..", "..", "testdata", "pcaps", name)
		all, links := readRecs(t, in)
		var want []rec
		for i, r := range all {
			p := gopacket.NewPacket([]byte(r.data), links[i], gopacket.Default)
			if p.Layer(layers.LayerTypeTCP) != nil {
				want = append(want, r)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: no TCP packets", name)
		}
		for _, workers := range []string{"1", "3", "6"} {
			t.Run(name+"/workers"+workers, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.pcap")
				var stderr bytes.Buffer
				if code := run(context.Background(), []string{"-r", in, "-w", out, "--workers", workers}, io.Discard, &stderr); code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				got, _ := readRecs(t, out)
				if len(got) != len(want) {
					t.Fatalf("%d packets written, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("packet %d differs: ts %d/%d wire %d/%d", i, got[i].ts, want[i].ts, got[i].wire, want[i].wire)
					}
				}
				if !strings.Contains(stderr.String(), fmt.Sprintf("pcap: %d packets written to 1 files, 0 dropped", len(want))) {
					t.Errorf("summary: %s", stderr.String())
				}
			})
		}
	}
}

// TestWriteOfflineLikeTcpdump: with a filter, -w writes what
// `tcpdump -r in -w out 'tcp and (FILTER)'` writes.
func TestWriteOfflineLikeTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("needs tcpdump")
	}
	tests := []struct{ file, filter string }{
		{"tr-test-mixed.pcap", "port 80"},
		{"tr-test-mixed.pcap", "tcp[tcpflags] & tcp-syn != 0"},
		{"sniffer-06-gmail.pcap", "src host 64.233.185.19 and greater 200"},
		{"tf-test4-ipv6-rawip.pcap", "ip6"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.filter, func(t *testing.T) {
			in := filepath.Join("..", "..", "testdata", "pcaps", tt.file)
			dir := t.TempDir()
			ref := filepath.Join(dir, "ref.pcap")
			cmd := exec.Command("tcpdump", "--time-stamp-precision=nano", "-r", in, "-w", ref, "tcp and ("+tt.filter+")")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tcpdump: %v: %s", err, out)
			}
			out := filepath.Join(dir, "out.pcap")
			var stderr bytes.Buffer
			args := append([]string{"-r", in, "-w", out, "-q"}, strings.Fields(tt.filter)...)
			if code := run(context.Background(), args, io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want, _ := readRecs(t, ref)
			got, _ := readRecs(t, out)
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("%d packets, tcpdump wrote %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("packet %d differs from tcpdump's", i)
				}
			}
		})
	}
}

// TestWriteRollingOffline: -C, -G and -W on the capture clock of -r give
// files whose concatenation is the unrolled -w output.
func TestWriteRollingOffline(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "pcaps", "sniffer-06-gmail.pcap")
	all, _ := readRecs(t, filepath.Join("..", "..", "testdata", "pcaps", "sniffer-06-gmail.pcap"))
	t.Setenv("TZ", "UTC")
	tests := []struct {
		name  string
		args  []string
		files int  // files expected
		ring  bool // only the last files are kept
	}{
		{"-C", []string{"-C", "20k"}, 0, false},
		{"-C -W", []string{"-C", "20k", "-W", "2"}, 2, true},
		{"-G", []string{"-G", "1"}, 0, false},
	}
	ref := filepath.Join(t.TempDir(), "ref.pcap")
	if code := run(context.Background(), []string{"-r", in, "-w", ref, "-q"}, io.Discard, io.Discard); code != 0 {
		t.Fatal("reference run failed")
	}
	whole, _ := readRecs(t, ref)
	if len(whole) != len(all) {
		t.Fatalf("reference: %d of %d packets", len(whole), len(all))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pat := filepath.Join(dir, "out.pcap")
			if slices.Contains(tt.args, "-G") {
				pat = filepath.Join(dir, "out-%H%M%S.pcap")
			}
			var stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"-r", in, "-w", pat}, tt.args...), io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) < 2 || tt.files > 0 && len(ents) != tt.files {
				t.Fatalf("%d files", len(ents))
			}
			// files in the order they were written: by first packet time
			var got []rec
			type file struct {
				recs []rec
			}
			var fs []file
			for _, e := range ents {
				r, _ := readRecs(t, filepath.Join(dir, e.Name()))
				fs = append(fs, file{r})
			}
			for i := range fs {
				for j := i + 1; j < len(fs); j++ {
					if len(fs[j].recs) > 0 && (len(fs[i].recs) == 0 || fs[j].recs[0].ts < fs[i].recs[0].ts) {
						fs[i], fs[j] = fs[j], fs[i]
					}
				}
			}
			for _, f := range fs {
				got = append(got, f.recs...)
			}
			want := whole
			if tt.ring {
				want = whole[len(whole)-len(got):]
			}
			if len(got) != len(want) {
				t.Fatalf("%d packets in the files, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("packet %d differs", i)
				}
			}
		})
	}
}

// TestFlagModes audits every flag: a live-only flag given with -r is an
// error naming it; every other flag is accepted by -r (and means the same
// with -i). A new flag must be added to one of the two lists here.
func TestFlagModes(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "pcaps", "tf-test1-http.pcap")
	dir := t.TempDir()
	// flags of both modes, with a value that -r accepts
	both := map[string][]string{
		"r": nil, "i": nil, "version": nil, // the source itself; --version exits
		"workers": {"2"}, "conn-log": {filepath.Join(dir, "c.json")}, "digest": {},
		"flows": {filepath.Join(dir, "flows")}, "q": {}, "idle-timeout": {"1m"},
		"overlap": {"last"}, "delivery": {"immediate"}, "no-vlan-key": {}, "no-midstream": {},
		"cpuprofile": {filepath.Join(dir, "cpu")}, "memprofile": {filepath.Join(dir, "mem")},
		"F": {filepath.Join(dir, "filter")}, "community-id": {}, "community-id-seed": {"7"}, "local-nets": {"10.0.0.0/8"}, "checksums": {}, "http-log": {filepath.Join(dir, "h.json")}, "http-bodies": {filepath.Join(dir, "b")},
		"http-body-max": {"1k"}, "metrics": {"127.0.0.1:0"},
		"w": {filepath.Join(dir, "w.pcap")}, "C": {"1", "-w", filepath.Join(dir, "c.pcap")},
		"G": {"60", "-w", filepath.Join(dir, "g.pcap")}, "W": {"2", "-C", "1", "-w", filepath.Join(dir, "ww.pcap")},
		"http-decompress": {"--http-bodies", filepath.Join(dir, "b2")},
		"rotate":          {"1h", "--conn-log", filepath.Join(dir, "r.json")},
		"rotate-gzip":     {"--rotate", "1h", "--conn-log", filepath.Join(dir, "rg.json")},
		"max-memory":      {"64m"}, "no-vlan-join": {}, "tunnel-key": {},
		"ssl-log": {filepath.Join(dir, "s.json")}, "tls-bypass": {"--ssl-log", filepath.Join(dir, "s2.json")},
		// other outputs' flags, tested by their own tests with -r
		"nats": nil, "nats-creds": nil, "nats-drain-timeout": nil, "nats-replicas": nil,
		"nats-stream": nil, "nats-subject": nil, "nats-tls-ca": nil, "sensor": nil,
		"spool": nil, "spool-max": nil,
	}
	if err := os.WriteFile(filepath.Join(dir, "filter"), []byte("tcp # all of it\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	liveValues := map[string]string{
		"ring-size": "32", "block-size": "64", "block-timeout": "5ms", "no-promisc": "",
		"s": "1500", "Z": "nobody", "max-stream-bytes": "1m", "netns": "/run/netns/x",
		"outer-fanout": "",
	}
	// every flag there is, from the usage (-h)
	var usage bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, io.Discard, &usage); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	var names []string
	for _, line := range strings.Split(usage.String(), "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "  -") && len(f) > 0 {
			names = append(names, strings.TrimPrefix(f[0], "-"))
		}
	}
	if len(names) < 30 {
		t.Fatalf("only %d flags in the usage: %s", len(names), usage.String())
	}
	for _, name := range names {
		dash := "--" + name
		if len(name) == 1 {
			dash = "-" + name
		}
		if liveOnlyFlags[name] {
			v, ok := liveValues[name]
			if !ok {
				t.Errorf("live-only flag %s has no test value", dash)
				continue
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"-r", in, "-q", dash}
				if v != "" {
					args = append(args, v)
				}
				var stderr bytes.Buffer
				code := run(context.Background(), args, io.Discard, &stderr)
				want := dash + " applies only to a live capture (-i)"
				if code != 2 || !strings.Contains(stderr.String(), want) {
					t.Errorf("exit %d, %q; want 2 and %q", code, stderr.String(), want)
				}
			})
			continue
		}
		args, ok := both[name]
		if !ok {
			t.Errorf("flag %s is in neither list: decide whether it applies to -r, -i or both (modes.go) and test it here", dash)
			continue
		}
		if args == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"-r", in, "-q", dash}, args...), io.Discard, &stderr)
			if code != 0 {
				t.Errorf("exit %d: %s", code, stderr.String())
			}
		})
	}
}
