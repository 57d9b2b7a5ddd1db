package tlsinfo

import (
	"bytes"
	"strings"
	"testing"
)

// TestPreludes: a real TLS 1.2 handshake behind each protocol's plaintext
// prelude (the bytes each side sends before its hello) is found, whole or
// fed in pieces, and gives the same Info as without a prelude.
func TestPreludes(t *testing.T) {
	r, st := exchangeForAllocs(t)
	plain := feed(NewParser(Config{}), r, 1<<30)
	if plain.Info.Cipher != st.CipherSuite || plain.Info.Flags&FlagPrelude != 0 {
		t.Fatalf("without prelude: %+v", plain.Info)
	}
	socks5req := []byte{5, 1, 0, 5, 1, 0, 3, 11}
	socks5req = append(socks5req, "example.org"...)
	socks5req = append(socks5req, 1, 187)
	tests := []struct {
		name           string
		client, server []byte // preludes
	}{
		{"smtp", []byte("EHLO client.example\r\nSTARTTLS\r\n"), []byte("220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n")},
		{"imap", []byte("a001 CAPABILITY\r\na002 STARTTLS\r\n"), []byte("* OK IMAP4rev1 ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na001 OK done\r\na002 OK Begin TLS\r\n")},
		{"pop3", []byte("STLS\r\n"), []byte("+OK POP3 ready\r\n+OK Begin TLS\r\n")},
		{"ftp", []byte("AUTH TLS\r\n"), []byte("220 FTP ready\r\n234 AUTH TLS OK.\r\n")},
		{"http-connect", []byte("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"), []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
		{"socks4", []byte{4, 1, 1, 187, 93, 184, 216, 34, 'u', 0}, []byte{0, 0x5a, 1, 187, 93, 184, 216, 34}},
		{"socks5", socks5req, []byte{5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 1, 187}},
		// MySQL: the server's greeting; the client's SSLRequest (32 bytes)
		{"mysql", append([]byte{32, 0, 0, 1}, bytes.Repeat([]byte{0x16, 3}, 16)...), append([]byte{10, 0, 0, 0, 10}, "8.0.36\x00\x16\x03\x01"...)},
		// LDAP: ExtendedRequest 1.3.6.1.4.1.1466.20037 and its success
		{"ldap", append([]byte{0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16}, "1.3.6.1.4.1.1466.20037"...), []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 5, 64, 1 << 20} {
			t.Run(tc.name, func(t *testing.T) {
				pre := &recorder{chunks: []chunk{{FromServer, tc.server}, {FromClient, tc.client}}}
				pre.chunks = append(pre.chunks, r.chunks...)
				c := feed(NewParser(Config{}), pre, step)
				if c.Info.Flags&FlagPrelude == 0 {
					t.Fatalf("step %d: no TLS found (flags %#x)", step, c.Info.Flags)
				}
				got := c.Info
				got.Flags &^= FlagPrelude
				if got != plain.Info || !bytes.Equal(c.Leaf, plain.Leaf) {
					t.Errorf("step %d: %+v\nwant %+v", step, got, plain.Info)
				}
			})
		}
	}
}

// TestNotTLS: connections without a hello stay unrecognised, and the
// scan stops after MaxPrelude bytes.
func TestNotTLS(t *testing.T) {
	r, _ := exchangeForAllocs(t)
	http := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// record headers whose hello length is too short to be a hello
	binary := append([]byte("X"), bytes.Repeat([]byte{0x16, 3, 1, 0, 0x50, 1, 0, 0, 0x20, 2, 0}, 100)...)
	long := []byte(strings.Repeat("250-PADDING\r\n", 1000))
	for _, tc := range []struct {
		name   string
		chunks []chunk
		tls    bool
	}{
		{"http", []chunk{{FromClient, http}, {FromServer, []byte("HTTP/1.1 200 OK\r\n\r\n")}}, false},
		{"lookalike", []chunk{{FromClient, binary}, {FromServer, binary}}, false},
		{"prelude-too-long", append([]chunk{{FromClient, long}, {FromServer, long}}, r.chunks...), false},
		{"empty", nil, false},
	} {
		c := feed(NewParser(Config{}), &recorder{chunks: tc.chunks}, 7)
		if c.IsTLS() != tc.tls {
			t.Errorf("%s: TLS %v, want %v", tc.name, c.IsTLS(), tc.tls)
		}
		if c.Active() && len(tc.chunks) > 2 {
			t.Errorf("%s: still scanning after MaxPrelude", tc.name)
		}
	}
}
