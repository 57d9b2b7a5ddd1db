package tlsinfo

// Config bounds a Parser. The zero value is the default for every field.
type Config struct {
	// MaxMessage is the most bytes buffered for one handshake message cut
	// across segments or records (default 16 KiB). A longer ClientHello or
	// ServerHello is skipped (FlagTooLarge, Stats.TooLarge); of a longer
	// Certificate message the first MaxMessage bytes are kept, enough for
	// the leaf certificate unless it is itself that long.
	MaxMessage int
	// MaxPrelude is how many bytes of a direction that does not start
	// with TLS are scanned for a hello after a plaintext prelude
	// (STARTTLS, tunnels: prelude.go); default 8 KiB, negative: none.
	MaxPrelude int
}

// DefaultMaxMessage is the default Config.MaxMessage.
const DefaultMaxMessage = 16 << 10

// Version indexes of Stats.Handshakes.
const (
	VerSSLv2 = iota
	VerSSLv3
	VerTLS10
	VerTLS11
	VerTLS12
	VerTLS13
	VerOther // TLS 1.3 drafts, experiments, unknown values
	NumVersions
)

// VersionIndex maps a negotiated version to its Stats.Handshakes slot.
func VersionIndex(v uint16) int {
	switch v {
	case 0x0002:
		return VerSSLv2
	case 0x0300:
		return VerSSLv3
	case 0x0301:
		return VerTLS10
	case 0x0302:
		return VerTLS11
	case 0x0303:
		return VerTLS12
	case 0x0304:
		return VerTLS13
	}
	return VerOther
}

// Stats are a Parser's counters.
type Stats struct {
	// Conns counts connections recognised as TLS (or SSLv2).
	Conns uint64
	// ClientHellos, ServerHellos (HRR included), Certificates: messages parsed.
	ClientHellos, ServerHellos, Certificates uint64
	// Handshakes counts ServerHellos that chose a version, by VersionIndex.
	Handshakes [NumVersions]uint64
	// Established counts connections whose handshake completed.
	Established uint64
	// TooLarge counts handshake messages over Config.MaxMessage skipped;
	// Malformed messages that did not parse; Desyncs directions abandoned
	// after a bad record header or a gap.
	TooLarge, Malformed, Desyncs uint64
}

// Add adds o to s.
func (s *Stats) Add(o *Stats) {
	s.Conns += o.Conns
	s.ClientHellos += o.ClientHellos
	s.ServerHellos += o.ServerHellos
	s.Certificates += o.Certificates
	for i := range s.Handshakes {
		s.Handshakes[i] += o.Handshakes[i]
	}
	s.Established += o.Established
	s.TooLarge += o.TooLarge
	s.Malformed += o.Malformed
	s.Desyncs += o.Desyncs
}

// Parser holds one worker's limits, scratch space, message buffers and
// counters. It is not safe for concurrent use: one per worker goroutine.
type Parser struct {
	cfg   Config
	stats Stats
	free  [][]byte // message buffers not in use
	str   []byte   // fingerprint strings are built here
	u16   []uint16 // sort scratch
	exts  []uint16 // extension types scratch
}

// NewParser returns a Parser.
func NewParser(cfg Config) *Parser {
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.MaxPrelude == 0 {
		cfg.MaxPrelude = DefaultMaxPrelude
	}
	return &Parser{cfg: cfg, str: make([]byte, 0, 2048), u16: make([]uint16, 0, 128), exts: make([]uint16, 0, 64)}
}

// Stats returns the counters.
func (p *Parser) Stats() Stats { return p.stats }

func (p *Parser) getBuf() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, min(p.cfg.MaxMessage, 4096))
}

func (p *Parser) putBuf(b []byte) {
	if b != nil && len(p.free) < 64 {
		p.free = append(p.free, b[:0])
	}
}

// Conn is one connection's state: Info and the two directions' record
// and handshake framing. Reuse one with Reset; the zero value is ready.
type Conn struct {
	Info Info
	// Leaf is the DER of the server's leaf certificate (FlagCert); its
	// array is reused by Reset.
	Leaf []byte
	dir  [2]dirState
	// the first ClientHello's session ID, to tell an ID resumption
	sid    [32]byte
	sidLen uint8
	// counted: this Conn was counted in Stats.Conns / Established /
	// Handshakes (once each)
	counted, countedEst, countedVer bool
}

// Reset clears c for a new connection, giving its buffers back to p.
func (p *Parser) Reset(c *Conn) {
	for i := range c.dir {
		p.putBuf(c.dir[i].buf)
	}
	leaf := c.Leaf[:0]
	*c = Conn{Leaf: leaf}
}

// Dir is the direction of bytes: 0 from the client, 1 from the server
// (reassembly.FromClient, reassembly.FromServer).
type Dir uint8

// Directions.
const (
	FromClient Dir = 0
	FromServer Dir = 1
)

// Active reports whether more bytes can still teach something: false
// once both directions are done (not TLS, abandoned) or the handshake is
// complete. A caller may stop feeding then.
func (c *Conn) Active() bool {
	if c.Info.Flags&FlagComplete != 0 {
		return false
	}
	return c.dir[0].st != stDead || c.dir[1].st != stDead
}

// IsTLS reports whether the connection was recognised as TLS.
func (c *Conn) IsTLS() bool { return c.Info.Flags&FlagTLS != 0 }

// Feed hands the parser the next bytes of one direction. gap is the
// number of bytes missing before b (the framing is lost: the direction
// is abandoned); ts is their capture time (Unix ns). b is not kept.
func (p *Parser) Feed(c *Conn, d Dir, b []byte, gap uint64, ts int64) {
	ds := &c.dir[d&1]
	if ds.st == stDead || c.Info.Flags&FlagComplete != 0 {
		return
	}
	if gap > 0 {
		if ds.st != stStart {
			p.desync(c, ds)
			return
		}
		// nothing seen yet: the stream starts after a hole, try the bytes
	}
	for len(b) > 0 && ds.st != stDead && c.Info.Flags&FlagComplete == 0 {
		b = p.step(c, d&1, ds, b, ts)
	}
}

func (p *Parser) desync(c *Conn, ds *dirState) {
	if ds.st != stDead {
		ds.st = stDead
		if c.Info.Flags&FlagTLS != 0 {
			c.Info.Flags |= FlagDesync
			p.stats.Desyncs++
		}
	}
	p.putBuf(ds.buf)
	ds.buf = nil
}
