package tlsinfo

import (
	"bufio"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The corpus (testdata/corpus, copied from ../shared/corpus/tls with
// MANIFEST.tsv for attribution and licences) holds 30 real captures from
// the test suites of FoxIO's JA4, Zeek, Suricata and Arkime, tshark's
// view of every handshake (ref/*.tls.tsv) and the JA4 values the suites
// expect (JA4_EXPECTED.tsv). These tests hold the parser to them; every
// exception is listed with its reason (docs/CORPUS.md).

// readTSV returns the rows of a TSV file with a header, as maps.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var hdr []string
	var rows []map[string]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if hdr == nil {
			hdr = cols
			continue
		}
		m := map[string]string{}
		for i, h := range hdr {
			if i < len(cols) {
				m[h] = cols[i]
			}
		}
		rows = append(rows, m)
	}
	return rows
}

func addrPort(t *testing.T, ip, port string) string {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		t.Fatalf("address %q: %v", ip, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("port %q: %v", port, err)
	}
	return netip.AddrPortFrom(a, uint16(p)).String()
}

// corpusRun caches the parse of each capture.
type corpusRun struct {
	byKey map[string]*seen // "client>server"
}

func parseCorpus(t *testing.T) map[string]*corpusRun {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.pcap*")
	if err != nil || len(files) != 30 {
		t.Fatalf("want the 30 corpus captures, got %d (%v)", len(files), err)
	}
	runs := map[string]*corpusRun{}
	for _, f := range files {
		conns, _ := runCapture(t, f, Config{})
		r := &corpusRun{byKey: map[string]*seen{}}
		for i := range conns {
			r.byKey[conns[i].client+">"+conns[i].server] = &conns[i]
		}
		runs[filepath.Base(f)] = r
	}
	return runs
}

func TestCorpusJA4(t *testing.T) {
	runs := parseCorpus(t)
	n := 0
	for _, row := range readTSV(t, "testdata/corpus/JA4_EXPECTED.tsv") {
		if row["ja4"] == "" {
			continue // a JA4S-only row: JA4S is not computed (licence)
		}
		file := row["file"]
		key := addrPort(t, row["client"], row["client_port"]) + ">" + addrPort(t, row["server"], row["server_port"])
		s := runs[file].byKey[key]
		if s == nil {
			t.Errorf("%s %s: connection not recognised as TLS", file, key)
			continue
		}
		got := string(s.info.JA4[:])
		if row["hello"] == "2" {
			got = string(s.info.JA4Retry[:])
		}
		if got != row["ja4"] {
			t.Errorf("%s %s hello %s (%s): ja4 %s, want %s", file, key, row["hello"], row["source"], got, row["ja4"])
		}
		n++
	}
	if n < 60 {
		t.Errorf("only %d JA4 values compared", n)
	}
}

// tsharkExceptions: where tshark's row is not the truth for a field
// (ref/TSHARK_CAVEATS.tsv), file/field -> reason.
var tsharkExceptions = map[string]string{
	"zk-hrr.pcap/ja3s": "tshark drops the real ServerHello, whose first segment came late (caveat 3): its last row is the HRR",
	"zk-hrr.pcap/hrr":  "tshark drops the real ServerHello (caveat 3)",
	"zk-tls1.2-protocol-violation.pcap/cert_subject_cn": "the Certificate is corrupted (caveat 8): no leaf is kept",
}

func hex16(v uint16) string { return fmt.Sprintf("0x%04x", v) }

func TestCorpusTshark(t *testing.T) {
	runs := parseCorpus(t)
	checked := 0
	for file, run := range runs {
		rows := readTSV(t, "testdata/corpus/ref/"+file+".tls.tsv")
		chN := map[string]int{}
		lastSH := map[string]map[string]string{}
		firstCert := map[string]map[string]string{}
		for _, row := range rows {
			src := addrPort(t, row["src"], row["sport"])
			dst := addrPort(t, row["dst"], row["dport"])
			switch row["hs_type"] {
			case "client_hello", "sslv2_client_hello":
				key := src + ">" + dst
				chN[key]++
				s := run.byKey[key]
				if s == nil {
					t.Errorf("%s %s: ClientHello in frame %s not seen", file, key, row["frame"])
					continue
				}
				if chN[key] > 1 {
					continue // later hellos: only their JA4 is kept (TestCorpusJA4)
				}
				checkClientHello(t, file, key, s, row)
				checked++
			case "server_hello", "sslv2_server_hello":
				lastSH[dst+">"+src] = row
			case "certificate":
				if k := dst + ">" + src; firstCert[k] == nil {
					firstCert[k] = row
				}
			}
		}
		for key, row := range lastSH {
			s := run.byKey[key]
			if s == nil {
				t.Errorf("%s %s: ServerHello in frame %s not seen", file, key, row["frame"])
				continue
			}
			checkServerHello(t, file, key, s, row)
			checked++
		}
		for key, row := range firstCert {
			s := run.byKey[key]
			if s == nil {
				// a client certificate: its connection is keyed the other way
				continue
			}
			checkCert(t, file, key, s, row)
			checked++
		}
	}
	if checked < 120 {
		t.Errorf("only %d handshake messages compared", checked)
	}
}

func field(t *testing.T, file, key, name, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	if why, ok := tsharkExceptions[file+"/"+name]; ok {
		t.Logf("%s %s: %s %q, tshark %q: %s", file, key, name, got, want, why)
		return
	}
	t.Errorf("%s %s: %s %q, tshark says %q", file, key, name, got, want)
}

func checkClientHello(t *testing.T, file, key string, s *seen, row map[string]string) {
	t.Helper()
	i := &s.info
	field(t, file, key, "handshake_version", hex16(i.HelloVersion), row["handshake_version"])
	if row["record_layer"] == "sslv2" {
		field(t, file, key, "sslv2", "true", fmt.Sprint(i.Flags&FlagSSLv2Hello != 0))
		return
	}
	field(t, file, key, "server_name", string(i.SNI()), row["server_name"])
	if row["ja3"] != "" {
		field(t, file, key, "ja3", hex.EncodeToString(i.JA3[:]), row["ja3"])
	}
	var vs []string
	for _, v := range strings.Split(row["supported_versions"], ",") {
		if x, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 16); err == nil && !isGREASE(uint16(x)) {
			vs = append(vs, v)
		}
	}
	var got []string
	for _, v := range i.ClientVersions() {
		got = append(got, hex16(v))
	}
	field(t, file, key, "supported_versions", strings.Join(got, ","), strings.Join(vs, ","))
	var alpn []string
	i.ClientALPN(func(p []byte) { alpn = append(alpn, hex.EncodeToString(p)) })
	field(t, file, key, "alpn_hex", strings.Join(alpn, ","), row["alpn_hex"])
}

func checkServerHello(t *testing.T, file, key string, s *seen, row map[string]string) {
	t.Helper()
	i := &s.info
	if row["record_layer"] == "sslv2" {
		field(t, file, key, "version", VersionName(i.Version), "SSLv2")
		return
	}
	v := row["supported_versions"]
	if v == "" {
		v = row["handshake_version"]
	}
	field(t, file, key, "version", hex16(i.Version), v)
	field(t, file, key, "cipher", hex16(i.Cipher), row["cipher_suites"])
	field(t, file, key, "cipher_name", CipherName(i.Cipher), row["cipher_name"])
	if row["ja3s"] != "" {
		field(t, file, key, "ja3s", hex.EncodeToString(i.JA3S[:]), row["ja3s"])
	}
	field(t, file, key, "hrr", fmt.Sprint(i.Flags&FlagHRR != 0 && i.Flags&FlagServerHello == 0), fmt.Sprint(row["tshark_label"] == "Hello Retry Request"))
}

func checkCert(t *testing.T, file, key string, s *seen, row map[string]string) {
	t.Helper()
	want := strings.Split(row["cert_subject_cn"], "|")[0]
	if s.info.Flags&FlagCert == 0 {
		field(t, file, key, "cert_subject_cn", "(no leaf)", want)
		return
	}
	c, err := x509.ParseCertificate(s.leaf)
	if err != nil {
		field(t, file, key, "cert_parse", err.Error(), "")
		return
	}
	field(t, file, key, "cert_subject_cn", c.Subject.CommonName, want)
}
