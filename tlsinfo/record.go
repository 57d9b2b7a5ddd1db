package tlsinfo

// The record layer of one direction: TLS records (5-byte header) or one
// SSLv2 record (2-byte header) at the start, recognised from the first
// bytes.

// Record content types.
const (
	ctCCS       = 20
	ctAlert     = 21
	ctHandshake = 22
	ctAppData   = 23
	ctHeartbeat = 24
)

// maxRecord is the largest record body accepted: 2^14 plus the expansion
// TLS allows for compressed and encrypted records.
const maxRecord = 1<<14 + 2048

// direction states
const (
	stStart   = iota // nothing seen: the first header decides
	stHdr            // reading a TLS record header
	stBody           // inside a TLS record body
	stV2             // inside the SSLv2 record
	stPrelude        // not TLS from the start: scanning for a hello (prelude.go)
	stDead           // not TLS, or the framing was lost: ignored
)

// dirState is one direction's framing.
type dirState struct {
	st      uint8
	hdrN    uint8 // bytes of hdr filled
	recType uint8
	alertN  uint8
	hdr     [5]byte
	alert   [2]byte
	recLeft int  // bytes left in the current record
	enc     bool // this side sent ChangeCipherSpec: its handshake records are encrypted
	afterV2 bool // the SSLv2 hello is over: a non-TLS record next is SSLv2 going on
	preN    uint8
	pre     [scanWin - 1]byte // the last bytes of the prelude scanned
	preSeen int               // prelude bytes scanned

	// handshake message framing (plaintext handshake records only)
	hsHdrN uint8
	hsHdr  [4]byte
	hsType uint8
	hsKeep bool // the message is one the parser reads
	hsLen  int
	hsGot  int
	buf    []byte // the message so far when cut across calls (nil: none)
}

// step consumes a prefix of b and returns the rest.
func (p *Parser) step(c *Conn, d Dir, ds *dirState, b []byte, ts int64) []byte {
	switch ds.st {
	case stStart, stHdr:
		n := copy(ds.hdr[ds.hdrN:], b)
		// SSLv2 needs only 3 bytes to be told apart, but its header is 2:
		// wait for 5 either way (every hello is longer)
		ds.hdrN += uint8(n)
		b = b[n:]
		if ds.hdrN < 5 {
			return b
		}
		ds.hdrN = 0
		if ds.st == stStart {
			return p.start(c, d, ds, b, ts)
		}
		return p.header(c, d, ds, b)
	case stBody:
		n := min(len(b), ds.recLeft)
		p.body(c, d, ds, b[:n])
		ds.recLeft -= n
		if ds.recLeft == 0 && ds.st == stBody {
			ds.st = stHdr
		}
		return b[n:]
	case stV2:
		return p.v2Body(c, d, ds, b)
	case stPrelude:
		return p.prelude(c, d, ds, b, ts)
	}
	return nil
}

// validHeader reports whether h is a plausible TLS record header.
func validHeader(h *[5]byte) bool {
	if h[0] < ctCCS || h[0] > ctHeartbeat || h[1] != 3 || h[2] > 4 {
		return false
	}
	n := int(h[3])<<8 | int(h[4])
	return n > 0 && n <= maxRecord
}

// v2Hello reports whether h starts an SSLv2 CLIENT-HELLO (client) or
// SERVER-HELLO (server) with a 2-byte header.
func v2Hello(d Dir, h *[5]byte) bool {
	if h[0]&0x80 == 0 {
		return false
	}
	n := int(h[0]&0x7f)<<8 | int(h[1])
	if d == FromClient {
		v := uint16(h[3])<<8 | uint16(h[4])
		return h[2] == 1 && n >= 9 && (v == 0x0002 || v>>8 == 3)
	}
	return h[2] == 4 && n >= 11
}

// start decides from the first header whether the direction is TLS.
func (p *Parser) start(c *Conn, d Dir, ds *dirState, b []byte, ts int64) []byte {
	h := &ds.hdr
	switch {
	case validHeader(h):
		// a client must open with a handshake; a server may also alert
		if d == FromClient && h[0] != ctHandshake || d == FromServer && h[0] != ctHandshake && h[0] != ctAlert {
			return p.notTLS(ds, b)
		}
	case v2Hello(d, h):
	default:
		return p.notTLS(ds, b)
	}
	if c.Info.Flags&FlagTLS == 0 {
		c.Info.Flags |= FlagTLS
		c.Info.TS = ts
		if !c.counted {
			c.counted = true
			p.stats.Conns++
		}
	}
	if h[0]&0x80 != 0 {
		ds.st = stV2
		ds.recLeft = int(h[0]&0x7f)<<8 | int(h[1])
		// the header's last 3 bytes are the record's first: parse them
		// with the rest
		ds.buf = append(p.getBuf(), h[2:5]...)
		ds.recLeft -= 3
		if ds.recLeft <= 0 {
			return p.v2Body(c, d, ds, b)
		}
		return b
	}
	return p.header(c, d, ds, b)
}

// notTLS handles a direction that does not start with TLS: its prelude
// is scanned (prelude.go), the header's bytes included.
func (p *Parser) notTLS(ds *dirState, b []byte) []byte {
	if p.cfg.MaxPrelude < 0 {
		ds.st = stDead
		return nil
	}
	ds.st = stPrelude
	ds.preN = uint8(copy(ds.pre[:], ds.hdr[:]))
	ds.preSeen = len(ds.hdr)
	return b
}

// header starts the record whose header is in ds.hdr.
func (p *Parser) header(c *Conn, d Dir, ds *dirState, b []byte) []byte {
	if !validHeader(&ds.hdr) {
		if ds.afterV2 {
			// SSLv2 goes on in its own format: nothing more to read
			ds.st = stDead
			return nil
		}
		p.desync(c, ds)
		return nil
	}
	ds.afterV2 = false
	ds.recType = ds.hdr[0]
	ds.recLeft = int(ds.hdr[3])<<8 | int(ds.hdr[4])
	ds.st = stBody
	ds.alertN = 0
	switch ds.recType {
	case ctCCS:
		c.Info.addHist(letter('I', d))
		p.ccs(c, d, ds)
	case ctHeartbeat:
		c.Info.addHist(letter('B', d))
	case ctAppData:
		p.appData(c, d)
	}
	return b
}

// body handles the bytes b of the current record.
func (p *Parser) body(c *Conn, d Dir, ds *dirState, b []byte) {
	switch ds.recType {
	case ctHandshake:
		if !ds.enc {
			p.handshake(c, d, ds, b)
		}
	case ctAlert:
		if !ds.enc && ds.alertN < 2 {
			n := copy(ds.alert[ds.alertN:], b)
			ds.alertN += uint8(n)
			if ds.alertN == 2 {
				p.alert(c, d, ds.alert[0], ds.alert[1])
			}
		}
	}
}

// letter is the history letter of an event: upper case from the client.
func letter(upper byte, d Dir) byte {
	if d == FromServer {
		return upper + ('a' - 'A')
	}
	return upper
}

func (p *Parser) ccs(c *Conn, d Dir, ds *dirState) {
	inf := &c.Info
	var tls13 bool
	if inf.Flags&(FlagServerHello|FlagHRR) != 0 {
		tls13 = isTLS13(inf.Version)
	} else {
		// before any ServerHello only a TLS 1.3 client (early data, or
		// middlebox compatibility) sends ChangeCipherSpec
		for _, v := range inf.ClientVersions() {
			tls13 = tls13 || isTLS13(v)
		}
	}
	if tls13 {
		// TLS 1.3's ChangeCipherSpec is middlebox compatibility only
		return
	}
	ds.enc = true
	if d == FromClient {
		inf.Flags |= flagCCSClient
	} else {
		inf.Flags |= flagCCSServer
		if inf.Flags&FlagServerHello != 0 && inf.Flags&flagServerCertMsg == 0 {
			// abbreviated handshake: the server went straight from its
			// hello to its Finished
			inf.Flags |= FlagResumed
		}
	}
	if inf.Flags&(flagCCSClient|flagCCSServer) == flagCCSClient|flagCCSServer {
		p.establish(c)
		p.complete(c)
	}
}

func (p *Parser) appData(c *Conn, d Dir) {
	inf := &c.Info
	if inf.Flags&FlagServerHello == 0 || !isTLS13(inf.Version) {
		return
	}
	if d == FromClient {
		inf.Flags |= flagAppClient
	} else {
		inf.Flags |= flagAppServer
	}
	if inf.Flags&(flagAppClient|flagAppServer) == flagAppClient|flagAppServer {
		p.establish(c)
	}
	if d == FromClient {
		// the client's first encrypted record after the ServerHello is
		// its Finished (or data): the handshake is over for an observer
		p.complete(c)
	}
}

func (p *Parser) establish(c *Conn) {
	inf := &c.Info
	if inf.Flags&FlagAlert != 0 && inf.Flags&flagFatal != 0 {
		return
	}
	inf.Flags |= FlagEstablished
	if !c.countedEst {
		c.countedEst = true
		p.stats.Established++
	}
}

func (p *Parser) complete(c *Conn) {
	c.Info.Flags |= FlagComplete
	for i := range c.dir {
		p.putBuf(c.dir[i].buf)
		c.dir[i].buf = nil
	}
}

// flagFatal: a fatal alert was seen (kept in the unexported high bits).
const flagFatal = flagServerCertMsg << 1

func (p *Parser) alert(c *Conn, d Dir, level, desc uint8) {
	inf := &c.Info
	inf.addHist(letter('L', d))
	inf.Flags |= FlagAlert
	inf.LastAlert = desc
	if level == 2 {
		inf.Flags |= flagFatal
	}
}

// isTLS13 reports whether v is TLS 1.3 or one of its drafts or
// experiments (0x7fXX, 0x7eXX).
func isTLS13(v uint16) bool { return v == 0x0304 || v>>8 == 0x7f || v>>8 == 0x7e }
