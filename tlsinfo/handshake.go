package tlsinfo

// Handshake message framing: messages are cut across records and a record
// may hold several. A message the parser reads is parsed in place when it
// arrives whole in one call, and is otherwise copied into the direction's
// buffer (at most Config.MaxMessage bytes); other messages are skipped
// without copying.

// Handshake message types.
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsCertificate       = 11
	hsServerKeyExchange = 12
	hsServerHelloDone   = 14
)

// wanted reports whether the parser reads message type t from d.
func wanted(d Dir, t uint8) bool {
	switch t {
	case hsClientHello:
		return d == FromClient
	case hsServerHello, hsServerKeyExchange:
		return d == FromServer
	case hsCertificate:
		return true
	}
	return false
}

// hsLetter is Zeek's ssl_history letter of a handshake message type.
func hsLetter(t uint8, d Dir) byte {
	var l byte
	switch t {
	case 0:
		l = 'H'
	case 1:
		l = 'C'
	case 2:
		l = 'S'
	case 3:
		l = 'V'
	case 4:
		l = 'T'
	case 6:
		l = 'J'
	case 8:
		l = 'O'
	case 11:
		l = 'X'
	case 12:
		l = 'K'
	case 13:
		l = 'R'
	case 14:
		l = 'N'
	case 15:
		l = 'Y'
	case 16:
		l = 'G'
	case 20:
		l = 'F'
	case 21:
		l = 'W'
	case 22:
		l = 'U'
	case 23:
		l = 'A'
	case 24:
		l = 'P'
	case 254:
		l = 'M'
	default:
		l = 'Z'
	}
	return letter(l, d)
}

func (p *Parser) handshake(c *Conn, d Dir, ds *dirState, b []byte) {
	for len(b) > 0 {
		if ds.hsHdrN < 4 {
			n := copy(ds.hsHdr[ds.hsHdrN:], b)
			ds.hsHdrN += uint8(n)
			b = b[n:]
			if ds.hsHdrN < 4 {
				return
			}
			ds.hsType = ds.hsHdr[0]
			ds.hsLen = int(ds.hsHdr[1])<<16 | int(ds.hsHdr[2])<<8 | int(ds.hsHdr[3])
			ds.hsGot = 0
			ds.hsKeep = wanted(d, ds.hsType)
			if ds.hsType != hsServerHello || d != FromServer {
				// a ServerHello's letter waits: an HRR is Zeek's 'j'
				c.Info.addHist(hsLetter(ds.hsType, d))
			}
			if d == FromServer && (ds.hsType == hsCertificate || ds.hsType == hsServerHelloDone) {
				c.Info.Flags |= flagServerCertMsg
			}
			if ds.hsLen == 0 {
				if ds.hsKeep {
					p.message(c, d, ds.hsType, nil, true)
				}
				ds.hsHdrN = 0
			}
			continue
		}
		n := min(len(b), ds.hsLen-ds.hsGot)
		if ds.hsKeep {
			if ds.buf == nil && ds.hsGot == 0 && n == ds.hsLen && n <= p.cfg.MaxMessage {
				// whole in this call: parsed in place (within the same
				// limit as a buffered one, so that the result does not
				// depend on how the message was cut)
				p.message(c, d, ds.hsType, b[:n], true)
			} else {
				if ds.buf == nil {
					ds.buf = p.getBuf()
				}
				if room := p.cfg.MaxMessage - len(ds.buf); room > 0 {
					ds.buf = append(ds.buf, b[:min(n, room)]...)
				}
			}
		}
		ds.hsGot += n
		b = b[n:]
		if ds.hsGot == ds.hsLen {
			if ds.hsKeep && ds.buf != nil {
				p.message(c, d, ds.hsType, ds.buf, ds.hsLen <= p.cfg.MaxMessage)
				p.putBuf(ds.buf)
				ds.buf = nil
			}
			ds.hsHdrN = 0
		}
	}
}

// message handles one handshake message; whole is false when only its
// first Config.MaxMessage bytes are in m.
func (p *Parser) message(c *Conn, d Dir, t uint8, m []byte, whole bool) {
	switch t {
	case hsClientHello, hsServerHello:
		if t == hsServerHello {
			if whole && len(m) >= 34 && string(m[2:34]) == hrrRandom {
				c.Info.addHist('j')
			} else {
				c.Info.addHist('s')
			}
		}
		if !whole {
			c.Info.Flags |= FlagTooLarge
			p.stats.TooLarge++
			return
		}
		var ok bool
		if t == hsClientHello {
			ok = p.clientHello(c, m)
		} else {
			ok = p.serverHello(c, m)
		}
		if !ok {
			p.malformed(c)
		}
	case hsCertificate:
		p.certificate(c, d, m, whole)
	case hsServerKeyExchange:
		p.serverKeyExchange(c, m)
	}
}

func (p *Parser) malformed(c *Conn) {
	c.Info.Flags |= FlagMalformed
	p.stats.Malformed++
}

// v2Body collects the SSLv2 record (its first 3 bytes are in ds.buf) and
// parses it once whole.
func (p *Parser) v2Body(c *Conn, d Dir, ds *dirState, b []byte) []byte {
	n := min(len(b), ds.recLeft)
	if room := p.cfg.MaxMessage - len(ds.buf); room > 0 {
		ds.buf = append(ds.buf, b[:min(n, room)]...)
	}
	ds.recLeft -= n
	b = b[n:]
	if ds.recLeft > 0 {
		return b
	}
	m := ds.buf
	ds.buf = nil
	ds.st = stHdr
	ds.afterV2 = true
	var ok bool
	if d == FromClient {
		ok = p.v2ClientHello(c, m)
	} else {
		ok = p.v2ServerHello(c, m)
	}
	p.putBuf(m)
	if !ok {
		p.malformed(c)
	}
	return b
}
