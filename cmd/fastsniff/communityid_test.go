package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// flowKey names a flow the same either way round.
func flowKey(a, b netip.AddrPort) string {
	x, y := a.String(), b.String()
	if x > y {
		x, y = y, x
	}
	return x + " " + y
}

// --community-id gives every connection of every bundled capture the ID
// Wireshark's implementation gives its flow (testdata/pcaps/
// tshark-community-id.tsv), under seeds 0 and 1; every flow tshark has is
// one fastsniff logged; and every line of the HTTP and TLS logs has its
// connection's ID.
func TestCommunityIDMatchesTshark(t *testing.T) {
	f, err := os.Open(filepath.Join(seedPcapDir, "tshark-community-id.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type fileSeed struct {
		file string
		seed string
	}
	want := map[fileSeed]map[string]string{} // flowKey -> ID
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 7 {
			t.Fatalf("bad row %q", sc.Text())
		}
		ap := func(addr, port string) netip.AddrPort {
			p, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				t.Fatalf("row %q: %v", sc.Text(), err)
			}
			return netip.AddrPortFrom(netip.MustParseAddr(addr), uint16(p))
		}
		k := fileSeed{c[0], c[1]}
		if want[k] == nil {
			want[k] = map[string]string{}
		}
		want[k][flowKey(ap(c[2], c[3]), ap(c[4], c[5]))] = c[6]
	}
	if len(want) < 80 {
		t.Fatalf("%d captures and seeds in the reference", len(want))
	}
	checked, other := 0, map[string]int{}
	for k, flows := range want {
		dir := t.TempDir()
		out := filepath.Join(dir, "conn.json")
		var stderr bytes.Buffer
		args := []string{"-r", filepath.Join(seedPcapDir, k.file), "--conn-log", out, "--community-id", "--community-id-seed", k.seed, "-q",
			"--http-log", filepath.Join(dir, "http.json"), "--ssl-log", filepath.Join(dir, "ssl.json")}
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", k.file, code, stderr.String())
		}
		recs := readConnLog(t, out)
		seen := map[string]bool{}
		byUID := map[string]string{}
		for _, r := range recs {
			byUID[r.UID] = r.CommunityID
			key := flowKey(netip.AddrPortFrom(netip.MustParseAddr(r.OrigH), r.OrigP), netip.AddrPortFrom(netip.MustParseAddr(r.RespH), r.RespP))
			seen[key] = true
			id, ok := flows[key]
			switch {
			case !ok:
				t.Errorf("%s seed %s: connection %s not in tshark's flows", k.file, k.seed, key)
			case r.CommunityID != id:
				t.Errorf("%s seed %s: %s: community_id %q, tshark %q", k.file, k.seed, key, r.CommunityID, id)
			default:
				checked++
			}
		}
		for key := range flows {
			if !seen[key] {
				t.Errorf("%s seed %s: tshark's flow %s not logged", k.file, k.seed, key)
			}
		}
		for _, log := range []string{"http", "ssl"} {
			b, err := os.ReadFile(filepath.Join(dir, log+".json"))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				if len(line) == 0 {
					continue
				}
				var l struct {
					UID         string `json:"uid"`
					CommunityID string `json:"community_id"`
				}
				if err := json.Unmarshal(line, &l); err != nil {
					t.Fatalf("%s %s log: %v", k.file, log, err)
				}
				if id, ok := byUID[l.UID]; !ok || l.CommunityID != id {
					t.Errorf("%s seed %s: %s log line of %s: community_id %q, its connection's %q", k.file, k.seed, log, l.UID, l.CommunityID, id)
				}
				other[log]++
			}
		}
	}
	t.Logf("%d connections, %d HTTP and %d TLS lines checked", checked, other["http"], other["ssl"])
	if checked < 1000 || other["http"] < 50 || other["ssl"] < 2 {
		t.Errorf("only %d connections, %d HTTP and %d TLS lines checked", checked, other["http"], other["ssl"])
	}
}
