package tlsinfo

import "bytes"

// A direction that does not start with TLS may still carry it after a
// plaintext prelude: STARTTLS in SMTP, IMAP, POP3 and FTP (AUTH TLS), LDAP
// StartTLS, MySQL's SSLRequest, an HTTP CONNECT or a SOCKS4/5 tunnel. The
// first Config.MaxPrelude bytes of such a direction are scanned for the
// start of a hello record: a handshake record header (type 22, version
// 3.x, a plausible length) holding a ClientHello (from the client) or a
// ServerHello (from the server) whose length fits the record and whose
// version is 3.x: eleven bytes that text and the preludes' binary
// messages do not produce by accident. The scan runs with
// bytes.IndexByte over the record type and keeps the last ten bytes of a
// call for the next, so a header cut across calls is found too.

// scanWin is how many bytes a hello start is checked on.
const scanWin = 11

// DefaultMaxPrelude is the default Config.MaxPrelude.
const DefaultMaxPrelude = 8 << 10

// helloStart reports whether w (at least scanWin bytes) starts a record
// holding the hello d sends.
func helloStart(d Dir, w []byte) bool {
	if w[0] != ctHandshake || w[1] != 3 || w[2] > 4 {
		return false
	}
	rec := int(w[3])<<8 | int(w[4])
	want := byte(hsClientHello)
	if d == FromServer {
		want = hsServerHello
	}
	if rec < 42 || rec > maxRecord || w[5] != want {
		return false
	}
	hs := int(w[6])<<16 | int(w[7])<<8 | int(w[8])
	if hs < 38 || hs+4 > rec && rec < 1<<14 {
		return false
	}
	return w[9] == 3 && w[10] <= 4 || w[9] == 0x7f
}

// prelude scans b, the next bytes of a direction in its prelude.
func (p *Parser) prelude(c *Conn, d Dir, ds *dirState, b []byte, ts int64) []byte {
	room := p.cfg.MaxPrelude - ds.preSeen
	if room <= 0 {
		ds.st = stDead
		return nil
	}
	// hellos may start in the first room bytes only: scan those (and the
	// bytes needed to check a start there), then give up
	scan, last := b, false
	if len(b) > room {
		scan, last = b[:min(len(b), room+scanWin-1)], true
	}
	// hello starts in the kept bytes, completed by the first of b
	if n := int(ds.preN); n > 0 {
		var w [2 * scanWin]byte
		k := copy(w[:], ds.pre[:n])
		k += copy(w[k:], scan)
		for j := 0; j < n && k-j >= scanWin; j++ {
			if helloStart(d, w[j:k]) {
				p.found(c, ds)
				rest := w[j:n]
				for len(rest) > 0 && ds.st != stDead {
					rest = p.step(c, d, ds, rest, ts)
				}
				return b
			}
		}
	}
	for i := 0; i+scanWin <= len(scan); {
		k := bytes.IndexByte(scan[i:len(scan)-scanWin+1], ctHandshake)
		if k < 0 {
			break
		}
		if helloStart(d, scan[i+k:]) {
			p.found(c, ds)
			return b[i+k:]
		}
		i += k + 1
	}
	if last {
		ds.st = stDead
		return nil
	}
	// keep the last scanWin-1 bytes of what was seen
	var w [2 * scanWin]byte
	k := copy(w[:], ds.pre[:ds.preN])
	if len(b) >= scanWin-1 {
		ds.preN = uint8(copy(ds.pre[:], b[len(b)-(scanWin-1):]))
	} else {
		k += copy(w[k:], b)
		ds.preN = uint8(copy(ds.pre[:], w[max(0, k-(scanWin-1)):k]))
	}
	ds.preSeen += len(b)
	return nil
}

// found switches a direction from its prelude to TLS.
func (p *Parser) found(c *Conn, ds *dirState) {
	ds.st = stStart
	ds.hdrN = 0
	ds.preN = 0
	c.Info.Flags |= FlagPrelude
}
