package tlsinfo_test

import (
	"encoding/binary"
	"fmt"

	"github.com/fastsniff/fastsniff/tlsinfo"
)

// hello builds a small TLS 1.2 ClientHello record: two suites, SNI
// "example.org", ALPN h2.
func hello() []byte {
	ext := func(typ uint16, body []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
		return append(b, body...)
	}
	name := []byte("example.org")
	sni := binary.BigEndian.AppendUint16(nil, uint16(len(name)+3))
	sni = append(sni, 0)
	sni = binary.BigEndian.AppendUint16(sni, uint16(len(name)))
	sni = append(sni, name...)
	alpn := []byte{0, 3, 2, 'h', '2'}
	exts := append(ext(0, sni), ext(16, alpn)...)
	body := []byte{3, 3}                     // legacy_version TLS 1.2
	body = append(body, make([]byte, 32)...) // random
	body = append(body, 0)                   // no session ID
	body = append(body, 0, 4, 0xc0, 0x2f, 0x00, 0x9c, 1, 0)
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	msg := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func Example() {
	p := tlsinfo.NewParser(tlsinfo.Config{})
	var c tlsinfo.Conn
	rec := hello()
	// the bytes may come in pieces of any size
	p.Feed(&c, tlsinfo.FromClient, rec[:7], 0, 1)
	p.Feed(&c, tlsinfo.FromClient, rec[7:], 0, 2)
	i := &c.Info
	fmt.Printf("TLS %v, SNI %s, history %s\n", c.IsTLS(), i.SNI(), i.History())
	i.ClientALPN(func(a []byte) { fmt.Printf("offers %s\n", a) })
	fmt.Printf("JA4 %s\n", i.JA4[:])
	// Output:
	// TLS true, SNI example.org, history C
	// offers h2
	// JA4 t12d0202h2_08dfa304a768_000000000000
}
