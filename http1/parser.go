package http1

import (
	"bytes"

	"github.com/fastsniff/fastsniff/reassembly"
)

type mode uint8

const (
	modeDetect mode = iota // no start line seen yet
	modeHTTP
	modeTunnel // CONNECT or Upgrade: count bytes only
	modeIgnore // not HTTP
)

type pstate uint8

const (
	stStart     pstate = iota // between messages: expecting a start line
	stHeaders                 // header lines
	stBodyLen                 // Content-Length body
	stChunkSize               // chunk-size line
	stChunkData               // chunk data
	stChunkCRLF               // the CRLF after chunk data
	stTrailers                // trailer lines after the last chunk
	stBodyClose               // body delimited by the connection's close
	stResync                  // looking for the next start line
	stHold                    // client: waiting for the answer to CONNECT/Upgrade
)

// dirState is one direction's parser.
type dirState struct {
	st        pstate
	req       bool // this direction carries requests
	started   bool
	sniff     bool // looking for a first start line (midstream pickup)
	tentative bool // the start line in progress was found by scanning
	resynced  bool // bytes were lost or skipped before the next message
	skipLine  bool // discarding the rest of an over-long header line
	lastKept  bool // the last header line was kept (for obs-fold)
	limitHit  bool // the current message has counted a header limit hit
	crlf      bool // chunk data's CR seen

	line     []byte // a line split across Data calls
	lineTS   int64  // TS of its first byte
	hdrBytes int    // wire bytes of the current header/trailer block
	hdrLines int    // fields in it
	remain   uint64 // body or chunk bytes to come
	interim  int    // last 1xx status since the last final response
	nres     int    // final responses seen

	rq *Request  // request in progress
	rs *Response // response in progress

	hold   []byte
	holdTS int64
}

func (ds *dirState) msg() *Message {
	if ds.rq != nil {
		return &ds.rq.Message
	}
	if ds.rs != nil {
		return &ds.rs.Message
	}
	return nil
}

// ConnState is the parser's state for one connection. Make it with
// Parser.NewConnState and hand it back with Parser.Close.
type ConnState struct {
	mode    mode
	sniffed int
	d       [2]dirState // by reassembly.Dir

	q       []*Request // ring of requests waiting for a response
	qh, qn  int
	over    int // requests past a full queue, after those in q
	depth   int
	holdFor *Request
	tunnel  [2]uint64
	socks   *socksState // a SOCKS handshake first (socks.go)
}

// IsHTTP reports whether the connection was recognised as HTTP.
func (s *ConnState) IsHTTP() bool { return s.mode == modeHTTP || s.mode == modeTunnel }

// Ignored reports whether the connection was found not to be HTTP.
func (s *ConnState) Ignored() bool { return s.mode == modeIgnore }

// Tunnel reports whether the connection turned into a tunnel.
func (s *ConnState) Tunnel() bool { return s.mode == modeTunnel }

// TunnelBytes returns the bytes seen in direction d since the connection
// turned into a tunnel.
func (s *ConnState) TunnelBytes(d reassembly.Dir) uint64 { return s.tunnel[d&1] }

// Depth returns the number of requests seen so far.
func (s *ConnState) Depth() int { return s.depth }

// Parser rebuilds HTTP/1.x transactions from connections' byte streams.
// It is not safe for concurrent use: give each worker its own.
type Parser struct {
	cfg     Config
	cb      Callbacks
	body    BodySink
	hdrs    HeaderSink
	interim InterimSink
	stats   Stats

	freeReq  []*Request
	freeRes  []*Response
	freeConn []*ConnState

	// the call in progress
	c  *reassembly.Conn
	ts int64

	maxFree int // objects kept in each pool

	stalls uint64 // defensive progress guard hits (tests expect 0)
}

type nopCallbacks struct{}

func (nopCallbacks) Request(*Request, *reassembly.Conn)             {}
func (nopCallbacks) Response(*Response, *Request, *reassembly.Conn) {}

// NewParser returns a Parser that reports to cb (which may be nil).
func NewParser(cfg Config, cb Callbacks) *Parser {
	if cb == nil {
		cb = nopCallbacks{}
	}
	p := &Parser{cfg: cfg.withDefaults(), cb: cb}
	p.maxFree = max(256, p.cfg.MaxPipeline+16)
	p.body, _ = cb.(BodySink)
	p.hdrs, _ = cb.(HeaderSink)
	p.interim, _ = cb.(InterimSink)
	var f *Funcs
	switch v := cb.(type) {
	case Funcs:
		f = &v
	case *Funcs:
		f = v
	}
	if f != nil {
		if f.OnBody == nil {
			p.body = nil
		}
		if f.OnHeaders == nil {
			p.hdrs = nil
		}
		if f.OnInterim == nil {
			p.interim = nil
		}
	}
	return p
}

// Config returns the configuration in use (defaults filled in).
func (p *Parser) Config() Config { return p.cfg }

// Stats returns the parser's counters.
func (p *Parser) Stats() Stats { return p.stats }

// NewConnState returns fresh state for a new connection.
func (p *Parser) NewConnState() *ConnState {
	p.stats.Conns++
	var s *ConnState
	if n := len(p.freeConn); n > 0 {
		s = p.freeConn[n-1]
		p.freeConn = p.freeConn[:n-1]
	} else {
		s = &ConnState{}
	}
	s.d[reassembly.FromClient].req = true
	return s
}

// Feed hands the parser bytes of direction dir (FromClient: requests,
// FromServer: responses) of the connection whose state is s.
func (p *Parser) Feed(s *ConnState, c *reassembly.Conn, dir reassembly.Dir, d reassembly.Data) {
	switch s.mode {
	case modeIgnore:
		return
	case modeTunnel:
		p.tunnelBytes(s, int(dir&1), len(d.Bytes))
		return
	}
	i := int(dir & 1)
	ds := &s.d[i]
	if x := s.socks; x != nil && (!x.done[i] || x.fresh[i]) || s.mode == modeDetect && x == nil && i == 0 && !ds.started && d.Offset == 0 && d.Gap == 0 && socksStart(d.Bytes) {
		if !p.socks(s, i, &d) {
			return
		}
	}
	oc, ots := p.c, p.ts
	p.c, p.ts = c, d.TS
	if !ds.started {
		ds.started = true
		if s.mode == modeDetect && (d.Gap > 0 || d.Offset > 0 || c != nil && c.Midstream()) {
			ds.sniff = true
			ds.st = stResync
		}
	}
	if d.Gap > 0 {
		p.gap(s, ds, d.Gap)
	}
	p.run(s, ds, i, d.Bytes)
	p.c, p.ts = oc, ots
}

func (p *Parser) tunnelBytes(s *ConnState, i, n int) {
	s.tunnel[i] += uint64(n)
	p.stats.TunnelBytes += uint64(n)
}

func (p *Parser) run(s *ConnState, ds *dirState, i int, b []byte) {
	stall := 0
	for len(b) > 0 {
		switch s.mode {
		case modeIgnore:
			return
		case modeTunnel:
			p.tunnelBytes(s, i, len(b))
			return
		}
		n := p.step(s, ds, b)
		if n > 0 {
			stall = 0
			b = b[n:]
			continue
		}
		if stall++; stall > 8 {
			// Never expected: drop a byte rather than spin.
			p.stalls++
			p.stats.ParseErrors++
			p.abort(s, ds)
			p.lost(s, ds)
			p.skip(s, ds, 1)
			b = b[1:]
			stall = 0
		}
	}
}

func (p *Parser) step(s *ConnState, ds *dirState, b []byte) int {
	switch ds.st {
	case stStart:
		return p.stepStart(s, ds, b)
	case stHeaders, stTrailers:
		return p.stepFields(s, ds, b)
	case stBodyLen:
		k := len(b)
		if uint64(k) > ds.remain {
			k = int(ds.remain)
		}
		p.bodyBytes(ds.msg(), b[:k])
		if ds.remain -= uint64(k); ds.remain == 0 {
			p.finish(s, ds, false)
		}
		return k
	case stChunkSize:
		return p.stepChunkSize(s, ds, b)
	case stChunkData:
		k := len(b)
		if uint64(k) > ds.remain {
			k = int(ds.remain)
		}
		p.bodyBytes(ds.msg(), b[:k])
		if ds.remain -= uint64(k); ds.remain == 0 {
			ds.st, ds.crlf = stChunkCRLF, false
		}
		return k
	case stChunkCRLF:
		m := ds.msg()
		switch {
		case b[0] == '\r' && !ds.crlf:
			ds.crlf = true
			m.WireLen++
			return 1
		case b[0] == '\n':
			ds.st = stChunkSize
			m.WireLen++
			return 1
		}
		// Chunk data not followed by CRLF: go on as if it were.
		m.Flags |= FlagBadFraming
		p.stats.ParseErrors++
		ds.st = stChunkSize
		return 0
	case stBodyClose:
		p.bodyBytes(ds.msg(), b)
		return len(b)
	case stResync:
		return p.stepResync(s, ds, b)
	case stHold:
		room := p.cfg.MaxHold - len(ds.hold)
		if room == 0 {
			p.unhold(s, ds)
			return 0
		}
		k := min(room, len(b))
		ds.hold = append(ds.hold, b[:k]...)
		ds.holdTS = p.ts
		return k
	}
	panic("http1: bad parser state")
}

func (p *Parser) bodyBytes(m *Message, b []byte) {
	n := uint64(len(b))
	m.BodyLen += n
	m.WireLen += n
	m.End = p.ts
	p.stats.BodyBytes += n
	if p.body != nil {
		p.body.Body(m, b, p.c)
	}
}

func (p *Parser) gapBody(m *Message, n uint64) {
	m.BodyLen += n
	m.WireLen += n
	m.GapLen += n
	m.Flags |= FlagGap
}

// stepStart parses a start line, in place when it is whole in b.
func (p *Parser) stepStart(s *ConnState, ds *dirState, b []byte) int {
	strict := s.mode == modeDetect || ds.tentative
	max := p.cfg.MaxLineLen
	if len(ds.line) == 0 {
		if b[0] == '\r' || b[0] == '\n' {
			return 1 // empty lines before a message are tolerated
		}
		r, sl := checkStart(b, ds.req, strict, max)
		switch r {
		case ckValid:
			p.begin(s, ds, b[:sl.lf+1], sl, p.ts)
			return sl.lf + 1
		case ckMore:
			if ds.line == nil {
				ds.line = make([]byte, 0, 256)
			}
			ds.line = append(ds.line, b...)
			ds.lineTS = p.ts
			return len(b)
		}
		if p.rejectDetect(s, ds) {
			return len(b)
		}
		if !ds.tentative {
			p.stats.ParseErrors++
		}
		p.lost(s, ds)
		p.skip(s, ds, 1)
		return 1
	}
	// Continue a start line split across calls: add up to its LF.
	k := len(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		k = i + 1
	}
	if room := max + 1 - len(ds.line); k > room {
		k = room
	}
	ds.line = append(ds.line, b[:k]...)
	r, sl := checkStart(ds.line, ds.req, strict, max)
	switch r {
	case ckValid:
		p.begin(s, ds, ds.line[:sl.lf+1], sl, ds.lineTS)
		ds.line = ds.line[:0]
		return k
	case ckMore:
		return k
	}
	if p.rejectDetect(s, ds) {
		return k
	}
	if !ds.tentative {
		p.stats.ParseErrors++
	}
	// Look again in what was buffered, from its second byte.
	buf := ds.line
	p.lost(s, ds)
	pos, r := findStart(buf[1:], ds.req, max)
	p.skip(s, ds, 1+pos)
	if s.mode == modeIgnore {
		return k
	}
	switch r {
	case ckValid:
		line := buf[1+pos:]
		_, sl := checkStart(line, ds.req, true, max)
		ds.tentative = true
		p.begin(s, ds, line[:sl.lf+1], sl, ds.lineTS)
		ds.line = buf[:0]
	case ckMore:
		ds.line = buf[:copy(buf, buf[1+pos:])]
		ds.tentative = true
		ds.st = stStart
	default:
		ds.line = buf[:0]
	}
	return k
}

// rejectDetect gives up on a connection whose first line is not HTTP.
func (p *Parser) rejectDetect(s *ConnState, ds *dirState) bool {
	if s.mode != modeDetect || ds.sniff {
		return false
	}
	p.ignore(s)
	return true
}

func (p *Parser) ignore(s *ConnState) {
	s.mode = modeIgnore
	p.stats.NonHTTP++
	for i := range s.d {
		s.d[i].line = s.d[i].line[:0]
		s.d[i].hold = s.d[i].hold[:0]
	}
}

// lost makes ds look for the next message start.
func (p *Parser) lost(s *ConnState, ds *dirState) {
	if s.mode == modeHTTP && !ds.tentative {
		p.stats.Resyncs++
	}
	ds.resynced = true
	ds.st = stResync
	ds.line = ds.line[:0]
	ds.tentative, ds.skipLine = false, false
}

// skip accounts for n captured bytes thrown away.
func (p *Parser) skip(s *ConnState, ds *dirState, n int) {
	if n <= 0 {
		return
	}
	ds.resynced = true
	if s.mode == modeDetect {
		if s.sniffed += n; s.sniffed > p.cfg.MaxSniff {
			p.ignore(s)
		}
		return
	}
	p.stats.SkippedBytes += uint64(n)
}

func (p *Parser) stepResync(s *ConnState, ds *dirState, b []byte) int {
	pos, r := findStart(b, ds.req, p.cfg.MaxLineLen)
	p.skip(s, ds, pos)
	if s.mode == modeIgnore {
		return len(b)
	}
	switch r {
	case ckValid:
		ds.st, ds.tentative = stStart, true
		return pos
	case ckMore:
		ds.st, ds.tentative = stStart, true
		if ds.line == nil {
			ds.line = make([]byte, 0, 256)
		}
		ds.line = append(ds.line[:0], b[pos:]...)
		ds.lineTS = p.ts
	}
	return len(b)
}

// begin starts a message from its start line (LF included).
func (p *Parser) begin(s *ConnState, ds *dirState, line []byte, sl startLine, ts int64) {
	if s.mode == modeDetect {
		s.mode = modeHTTP
		p.stats.HTTPConns++
	}
	var m *Message
	if ds.req {
		r := p.newReq()
		method := line[:sl.mEnd]
		if ms, ok := knownMethod(method); ok {
			r.Method = ms
		} else {
			r.Method = string(method)
		}
		r.URI = string(line[sl.uS:sl.uE])
		s.depth++
		r.Depth = s.depth
		ds.rq = r
		m = &r.Message
	} else {
		r := p.newRes()
		r.StatusCode = sl.code
		r.Reason = reasonString(line[sl.rS:sl.rE])
		ds.rs = r
		m = &r.Message
	}
	m.Proto, m.ProtoMinor = protos[sl.minor], sl.minor
	m.Start, m.End = ts, p.ts
	if ds.resynced {
		m.Flags |= FlagResynced
	}
	ds.resynced, ds.tentative, ds.sniff = false, false, false
	ds.hdrBytes, ds.hdrLines = len(line), 0
	m.HeaderLen = uint64(len(line))
	ds.limitHit, ds.skipLine, ds.lastKept = false, false, false
	ds.st = stHeaders
}

const (
	lineMore = iota // no LF yet: the bytes were buffered
	lineFull        // a whole line
	lineLong        // MaxLineLen+1 bytes without LF: consumed, the rest is not
)

// getLine returns the next line (CR LF stripped), the bytes consumed and
// a lineXxx status. It never takes more than MaxLineLen+1 bytes of a line,
// so a line is found too long at the same byte however the stream is cut.
// A returned line may alias ds.line: reset it after use.
func (p *Parser) getLine(ds *dirState, b []byte) ([]byte, int, int) {
	room := p.cfg.MaxLineLen + 1 - len(ds.line)
	w := b
	if len(w) > room {
		w = w[:room]
	}
	if i := bytes.IndexByte(w, '\n'); i >= 0 {
		if len(ds.line) == 0 {
			return trimCR(w[:i]), i + 1, lineFull
		}
		ds.line = append(ds.line, w[:i]...)
		return trimCR(ds.line), i + 1, lineFull
	}
	if len(w) == room {
		ds.line = ds.line[:0]
		return nil, len(w), lineLong
	}
	if ds.line == nil {
		ds.line = make([]byte, 0, 256)
	}
	ds.line = append(ds.line, w...)
	return nil, len(w), lineMore
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// stepFields parses header or trailer lines.
func (p *Parser) stepFields(s *ConnState, ds *dirState, b []byte) int {
	m := ds.msg()
	// Never read past the block's byte limit, so that where the limit
	// strikes does not depend on how the stream was cut.
	if room := p.cfg.MaxHeaderBytes + 1 - ds.hdrBytes; len(b) > room {
		b = b[:room]
	}
	if ds.skipLine {
		n := len(b)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			n = i + 1
			ds.skipLine = false
		}
		p.fieldBytes(s, ds, m, n)
		return n
	}
	line, n, st := p.getLine(ds, b)
	if !p.fieldBytes(s, ds, m, n) {
		return n
	}
	switch st {
	case lineMore:
		return n
	case lineLong:
		ds.skipLine = true
		ds.lastKept = false
		p.headerLimit(ds, m)
		return n
	}
	if len(line) == 0 {
		ds.line = ds.line[:0]
		if ds.st == stTrailers {
			p.finish(s, ds, false)
		} else {
			p.headersDone(s, ds)
		}
		return n
	}
	p.field(ds, m, line)
	ds.line = ds.line[:0]
	return n
}

// fieldBytes accounts for n bytes of a header or trailer block; it gives
// the message up when the block is too big.
func (p *Parser) fieldBytes(s *ConnState, ds *dirState, m *Message, n int) bool {
	ds.hdrBytes += n
	m.End = p.ts
	if ds.st == stTrailers {
		m.WireLen += uint64(n)
	} else {
		m.HeaderLen += uint64(n)
	}
	if ds.hdrBytes <= p.cfg.MaxHeaderBytes {
		return true
	}
	p.headerLimit(ds, m)
	p.abort(s, ds)
	p.lost(s, ds)
	return false
}

func (p *Parser) headerLimit(ds *dirState, m *Message) {
	m.Flags |= FlagHeaderLimit
	if !ds.limitHit {
		ds.limitHit = true
		p.stats.HeaderLimits++
	}
}

// field handles one header or trailer line.
func (p *Parser) field(ds *dirState, m *Message, line []byte) {
	h := &m.Header
	if ds.st == stTrailers {
		h = &m.Trailer
	}
	if line[0] == ' ' || line[0] == '\t' { // obs-fold
		if ds.lastKept {
			h.fold(trimOWS(line))
		}
		return
	}
	c := bytes.IndexByte(line, ':')
	if c <= 0 {
		p.stats.ParseErrors++
		ds.lastKept = false
		return
	}
	name := line[:c]
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	value := trimOWS(line[c+1:])
	if ds.st == stHeaders {
		framing(m, name, value)
	}
	ds.hdrLines++
	if ds.hdrLines > p.cfg.MaxHeaders {
		ds.lastKept = false
		p.headerLimit(ds, m)
		return
	}
	h.add(name, value)
	ds.lastKept = true
}

// framing notes the headers that decide how a message ends.
func framing(m *Message, name, value []byte) {
	switch len(name) {
	case len("content-length"):
		if equalFold(name, "content-length") {
			n, ok := parseDecimal(value)
			if !ok || m.hf&hfCL != 0 && n != m.ContentLength {
				m.hf |= hfCLBad
			}
			m.hf |= hfCL
			if ok && m.ContentLength < 0 {
				m.ContentLength = n
			}
		}
	case len("transfer-encoding"):
		if equalFold(name, "transfer-encoding") {
			m.hf |= hfTE
			m.Chunked = lastTokenIs(value, "chunked")
		}
	case len("connection"):
		if equalFold(name, "connection") {
			if hasToken(value, "close") {
				m.hf |= hfClose
			}
			if hasToken(value, "keep-alive") {
				m.hf |= hfKeepAlive
			}
		}
	case len("upgrade"):
		if equalFold(name, "upgrade") {
			m.hf |= hfUpgrade
		}
	}
}

func (p *Parser) headersDone(s *ConnState, ds *dirState) {
	m := ds.msg()
	if m.hf&hfCLBad != 0 {
		m.ContentLength = -1
		m.Flags |= FlagBadFraming
		p.stats.ParseErrors++
	}
	m.Close = m.hf&hfClose != 0 || m.ProtoMinor == 0 && m.hf&hfKeepAlive == 0
	if ds.req {
		p.reqHeadersDone(s, ds)
	} else {
		p.resHeadersDone(s, ds)
	}
}

func (p *Parser) reqHeadersDone(s *ConnState, ds *dirState) {
	r := ds.rq
	p.enqueue(s, r)
	if p.hdrs != nil {
		p.hdrs.Headers(&r.Message, p.c)
	}
	switch {
	case r.hf&hfTE != 0:
		if r.Chunked {
			ds.st = stChunkSize
			return
		}
		// RFC 9112 6.3: a request whose last coding is not chunked has no
		// reliable length; take it as bodiless and resync if need be.
		r.Flags |= FlagBadFraming
		p.stats.ParseErrors++
	case r.ContentLength > 0:
		ds.remain = uint64(r.ContentLength)
		ds.st = stBodyLen
		return
	}
	p.finishReq(s, ds, false)
}

func (p *Parser) resHeadersDone(s *ConnState, ds *dirState) {
	r := ds.rs
	code := r.StatusCode
	if isInterim(code) {
		p.interimDone(s, ds)
		return
	}
	req := p.pair(s, ds, r)
	if p.hdrs != nil {
		p.hdrs.Headers(&r.Message, p.c)
	}
	if code == 101 || req != nil && req.Method == "CONNECT" && code/100 == 2 {
		r.Flags |= FlagTunnel
		p.finishRes(s, ds, false)
		p.startTunnel(s)
		return
	}
	if req != nil && req == s.holdFor {
		p.releaseHold(s)
	}
	switch {
	case req != nil && req.Method == "HEAD", code == 204, code == 304:
	case r.hf&hfTE != 0:
		if r.Chunked {
			ds.st = stChunkSize
		} else {
			ds.st = stBodyClose // RFC 9112 6.3: read until close
		}
		return
	case r.ContentLength > 0:
		ds.remain = uint64(r.ContentLength)
		ds.st = stBodyLen
		return
	case r.ContentLength < 0:
		ds.st = stBodyClose
		return
	}
	p.finishRes(s, ds, false)
}

func (p *Parser) stepChunkSize(s *ConnState, ds *dirState, b []byte) int {
	m := ds.msg()
	line, n, st := p.getLine(ds, b)
	m.WireLen += uint64(n)
	m.End = p.ts
	switch st {
	case lineMore:
		return n
	case lineFull:
		size, ok := parseChunkSize(line)
		ds.line = ds.line[:0]
		if !ok {
			break
		}
		if size == 0 {
			ds.st = stTrailers
			ds.hdrBytes, ds.hdrLines, ds.lastKept = 0, 0, false
		} else {
			ds.st, ds.remain = stChunkData, size
		}
		return n
	}
	// A bad or over-long chunk-size line: the framing is lost.
	m.Flags |= FlagBadFraming
	p.stats.ParseErrors++
	p.abort(s, ds)
	p.lost(s, ds)
	return n
}

// gap handles n bytes missing before the next Data.
func (p *Parser) gap(s *ConnState, ds *dirState, n uint64) {
	p.stats.Gaps++
	p.stats.GapBytes += n
	for ds.st == stHold {
		// Held bytes are complete up to the gap: parse them first (each
		// round holds strictly fewer bytes).
		p.unhold(s, ds)
	}
	switch ds.st {
	case stStart:
		if s.mode == modeDetect {
			ds.sniff = true
		}
		p.skip(s, ds, len(ds.line))
		p.lost(s, ds)
	case stHeaders, stTrailers, stChunkSize, stChunkCRLF:
		ds.msg().Flags |= FlagGap
		p.abort(s, ds)
		p.lost(s, ds)
	case stBodyLen:
		k := min(n, ds.remain)
		p.gapBody(ds.msg(), k)
		if ds.remain -= k; ds.remain == 0 {
			p.finish(s, ds, false)
			if n > k {
				p.lost(s, ds)
			}
		}
	case stChunkData:
		if n <= ds.remain {
			p.gapBody(ds.msg(), n)
			if ds.remain -= n; ds.remain == 0 {
				ds.st, ds.crlf = stChunkCRLF, false
			}
			return
		}
		p.gapBody(ds.msg(), ds.remain)
		p.abort(s, ds)
		p.lost(s, ds)
	case stBodyClose:
		p.gapBody(ds.msg(), n)
	}
}

// Close ends the connection: messages in progress are delivered (as
// incomplete unless a close-delimited body ended with the server's FIN),
// requests still waiting get Response(nil, req). s must not be used
// afterwards.
func (p *Parser) Close(s *ConnState, c *reassembly.Conn, r reassembly.Reason) {
	oc := p.c
	p.c = c
	if s.mode == modeHTTP || s.mode == modeTunnel {
		cd, sd := &s.d[reassembly.FromClient], &s.d[reassembly.FromServer]
		for s.mode == modeHTTP && cd.st == stHold {
			p.unhold(s, cd) // never answered: parse what was held
		}
		if cd.rq != nil {
			p.finishReq(s, cd, true)
		}
		if sd.rs != nil {
			fin := r == reassembly.ReasonFIN || c != nil && c.Stats(reassembly.FromServer).FIN
			p.finishRes(s, sd, !(sd.st == stBodyClose && fin))
		}
		for s.qn > 0 {
			p.noResponse(s, p.dequeue(s))
		}
	}
	p.c = oc
	p.releaseConn(s)
}

func (p *Parser) releaseConn(s *ConnState) {
	for i := range s.d {
		ds := &s.d[i]
		line, hold := ds.line[:0], ds.hold[:0]
		if cap(hold) > 4096 {
			hold = nil
		}
		*ds = dirState{line: line, hold: hold}
	}
	q := s.q
	for i := range q {
		q[i] = nil
	}
	*s = ConnState{q: q}
	if len(p.freeConn) < p.maxFree {
		p.freeConn = append(p.freeConn, s)
	}
}

func (p *Parser) newReq() *Request {
	if n := len(p.freeReq); n > 0 {
		r := p.freeReq[n-1]
		p.freeReq = p.freeReq[:n-1]
		return r
	}
	return newRequest()
}

func (p *Parser) newRes() *Response {
	if n := len(p.freeRes); n > 0 {
		r := p.freeRes[n-1]
		p.freeRes = p.freeRes[:n-1]
		return r
	}
	return newResponse()
}

func (p *Parser) putReq(r *Request) {
	r.reset()
	if len(p.freeReq) < p.maxFree && cap(r.Header.raw) <= 8192 {
		p.freeReq = append(p.freeReq, r)
	}
}

func (p *Parser) putRes(r *Response) {
	r.reset()
	if len(p.freeRes) < p.maxFree && cap(r.Header.raw) <= 8192 {
		p.freeRes = append(p.freeRes, r)
	}
}
