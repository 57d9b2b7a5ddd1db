package tlsinfo

import "bytes"

// rd reads big-endian fields from a message, remembering an overrun
// instead of panicking.
type rd struct {
	b   []byte
	bad bool
}

func (r *rd) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *rd) u8() int {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *rd) u16() int {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return int(v[0])<<8 | int(v[1])
}

func (r *rd) u24() int {
	v := r.bytes(3)
	if v == nil {
		return 0
	}
	return int(v[0])<<16 | int(v[1])<<8 | int(v[2])
}

func (r *rd) vec8() []byte  { return r.bytes(r.u8()) }
func (r *rd) vec16() []byte { return r.bytes(r.u16()) }

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// isGREASE reports whether v is one of RFC 8701's reserved values.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// Extension types read.
const (
	extSNI               = 0
	extSupportedGroups   = 10
	extECPointFormats    = 11
	extSignatureAlgs     = 13
	extALPN              = 16
	extSessionTicket     = 35
	extKeyShareOld       = 40
	extPreSharedKey      = 41
	extSupportedVersions = 43
	extKeyShare          = 51
)

// hello is what the fingerprints need from a ClientHello: slices of the
// message, valid while it is parsed.
type hello struct {
	version  uint16
	ciphers  []byte // 2 bytes each
	exts     []byte // the extensions block
	groups   []byte // 2 bytes each
	formats  []byte // 1 byte each
	sigs     []byte // 2 bytes each
	versions []byte // 2 bytes each
	alpn     []byte // the protocol_name_list
	hasVers  bool
}

// clientHello parses a TLS-format ClientHello body.
func (p *Parser) clientHello(c *Conn, m []byte) bool {
	r := rd{b: m}
	var h hello
	h.version = uint16(r.u16())
	r.bytes(32)
	sid := r.vec8()
	h.ciphers = r.vec16()
	r.vec8() // compression methods
	if len(r.b) > 0 {
		h.exts = r.vec16()
	}
	if r.bad || len(h.ciphers)%2 != 0 {
		return false
	}
	var sni []byte
	ticket := false
	psk := false
	e := rd{b: h.exts}
	for len(e.b) > 0 {
		t := e.u16()
		body := e.vec16()
		if e.bad {
			return false
		}
		switch t {
		case extSNI:
			sni = firstHostName(body)
		case extSupportedGroups:
			x := rd{b: body}
			h.groups = x.vec16()
		case extECPointFormats:
			x := rd{b: body}
			h.formats = x.vec8()
		case extSignatureAlgs:
			x := rd{b: body}
			h.sigs = x.vec16()
		case extALPN:
			x := rd{b: body}
			h.alpn = x.vec16()
		case extSupportedVersions:
			x := rd{b: body}
			h.versions = x.vec8()
			h.hasVers = true
		case extSessionTicket:
			ticket = len(body) > 0
		case extPreSharedKey:
			psk = true
		}
	}
	h.groups = h.groups[:len(h.groups)&^1]
	h.sigs = h.sigs[:len(h.sigs)&^1]
	h.versions = h.versions[:len(h.versions)&^1]

	inf := &c.Info
	p.stats.ClientHellos++
	if inf.ClientHellos < 255 {
		inf.ClientHellos++
	}
	switch {
	case inf.Flags&FlagClientHello == 0:
		inf.Flags |= FlagClientHello | FlagJA3
		inf.HelloVersion = h.version
		inf.sniLen = uint8(copy(inf.sni[:], sni))
		inf.calpnLen = uint16(copy(inf.calpn[:], h.alpn))
		for i := 0; i+1 < len(h.versions); i += 2 {
			if v := be16(h.versions[i:]); !isGREASE(v) && inf.nVersions < maxVersions {
				inf.clientVersions[inf.nVersions] = v
				inf.nVersions++
			}
		}
		if ticket {
			inf.Flags |= FlagTicketOffered
		}
		if psk {
			inf.Flags |= FlagPSKOffered
		}
		if len(sid) > 0 {
			inf.Flags |= FlagSessionIDOffered
		}
		c.sidLen = uint8(copy(c.sid[:], sid))
		inf.JA3 = p.ja3(&h)
		p.ja4(&h, sni != nil || hasExt(h.exts, extSNI), &inf.JA4)
	case inf.Flags&FlagJA4Retry == 0 && inf.Flags&FlagSSLv2Hello == 0:
		inf.Flags |= FlagJA4Retry
		p.ja4(&h, hasExt(h.exts, extSNI), &inf.JA4Retry)
	case inf.Flags&FlagSSLv2Hello != 0 && inf.Flags&FlagJA3 == 0:
		// a TLS hello after an SSLv2-format one: fingerprint this one
		inf.Flags |= FlagJA3
		inf.JA3 = p.ja3(&h)
		p.ja4(&h, hasExt(h.exts, extSNI), &inf.JA4)
	}
	return true
}

// hasExt reports whether the extensions block has type t.
func hasExt(exts []byte, t int) bool {
	e := rd{b: exts}
	for len(e.b) > 0 {
		if e.u16() == t {
			return !e.bad
		}
		e.vec16()
	}
	return false
}

// firstHostName returns the first host_name of a server_name extension
// (nil when there is none; empty but not nil when it is empty).
func firstHostName(body []byte) []byte {
	r := rd{b: body}
	list := rd{b: r.vec16()}
	for len(list.b) > 0 {
		t := list.u8()
		name := list.vec16()
		if list.bad {
			return nil
		}
		if t == 0 {
			if name == nil {
				return []byte{}
			}
			return name
		}
	}
	return nil
}

// hrrRandom is the ServerHello.random of a HelloRetryRequest (RFC 8446
// 4.1.3): SHA-256 of "HelloRetryRequest".
const hrrRandom = "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91" +
	"\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c"

// serverHello parses a ServerHello body (a HelloRetryRequest included).
func (p *Parser) serverHello(c *Conn, m []byte) bool {
	r := rd{b: m}
	legacy := uint16(r.u16())
	random := r.bytes(32)
	// TLS 1.3 drafts before 22 had neither session ID nor compression
	draft := legacy>>8 == 0x7f
	var sid []byte
	if !draft {
		sid = r.vec8()
	}
	cipher := uint16(r.u16())
	if !draft {
		r.u8()
	}
	var exts []byte
	if len(r.b) > 0 {
		exts = r.vec16()
	}
	if r.bad {
		return false
	}
	version := legacy
	var curve uint16
	var alpn []byte
	psk := false
	e := rd{b: exts}
	for len(e.b) > 0 {
		t := e.u16()
		body := e.vec16()
		if e.bad {
			return false
		}
		switch t {
		case extSupportedVersions:
			if len(body) >= 2 {
				version = be16(body)
			}
		case extKeyShare, extKeyShareOld:
			if len(body) >= 2 {
				curve = be16(body)
			}
		case extALPN:
			x := rd{b: body}
			l := rd{b: x.vec16()}
			alpn = l.vec8()
		case extPreSharedKey:
			psk = true
		}
	}
	inf := &c.Info
	p.stats.ServerHellos++
	if inf.ServerHellos < 255 {
		inf.ServerHellos++
	}
	hrr := string(random) == hrrRandom
	if hrr {
		inf.Flags |= FlagHRR
		if inf.Flags&FlagServerHello != 0 {
			return true
		}
	} else {
		inf.Flags |= FlagServerHello
	}
	inf.Version = version
	inf.Cipher = cipher
	if curve != 0 {
		inf.Curve = curve
	}
	inf.alpnLen = uint8(copy(inf.alpn[:], alpn))
	inf.JA3S = p.ja3s(legacy, cipher, exts)
	inf.Flags |= FlagJA3S
	if hrr {
		return true
	}
	if isTLS13(version) {
		if psk {
			inf.Flags |= FlagResumed
		}
	} else if len(sid) > 0 && bytes.Equal(sid, c.sid[:c.sidLen]) {
		inf.Flags |= FlagResumed
	}
	if !c.countedVer {
		c.countedVer = true
		p.stats.Handshakes[VersionIndex(version)]++
	}
	return true
}

// v2ClientHello parses an SSLv2 CLIENT-HELLO record: type, version,
// cipher-spec, session-id and challenge lengths, then the three fields.
func (p *Parser) v2ClientHello(c *Conn, m []byte) bool {
	r := rd{b: m}
	r.u8()
	version := uint16(r.u16())
	csLen := r.u16()
	sidLen := r.u16()
	r.u16()
	r.bytes(csLen)
	r.bytes(sidLen)
	if r.bad || csLen%3 != 0 {
		return false
	}
	inf := &c.Info
	c.Info.addHist('C')
	p.stats.ClientHellos++
	if inf.ClientHellos < 255 {
		inf.ClientHellos++
	}
	if inf.Flags&FlagClientHello == 0 {
		inf.Flags |= FlagClientHello | FlagSSLv2Hello
		inf.HelloVersion = version
	}
	return true
}

// v2ServerHello parses an SSLv2 SERVER-HELLO record: type, session-id-hit,
// certificate type, version, certificate, cipher-specs and connection-id
// lengths, then the certificate and the cipher specs.
func (p *Parser) v2ServerHello(c *Conn, m []byte) bool {
	r := rd{b: m}
	r.u8()
	r.u8()
	certType := r.u8()
	r.u16()
	certLen := r.u16()
	csLen := r.u16()
	r.u16()
	cert := r.bytes(certLen)
	specs := r.bytes(csLen)
	if r.bad {
		return false
	}
	inf := &c.Info
	inf.addHist('s')
	p.stats.ServerHellos++
	if inf.ServerHellos < 255 {
		inf.ServerHellos++
	}
	inf.Flags |= FlagServerHello | FlagSSLv2
	inf.Version = 0x0002
	if len(specs) >= 3 {
		inf.Cipher2 = uint32(specs[0])<<16 | uint32(specs[1])<<8 | uint32(specs[2])
	}
	if certType == 1 && len(cert) > 0 && inf.Flags&FlagCert == 0 {
		c.Leaf = append(c.Leaf[:0], cert...)
		inf.Flags |= FlagCert
		p.stats.Certificates++
	}
	if !c.countedVer {
		c.countedVer = true
		p.stats.Handshakes[VerSSLv2]++
	}
	// everything after the hellos is encrypted
	p.complete(c)
	return true
}
