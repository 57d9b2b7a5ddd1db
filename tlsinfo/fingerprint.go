package tlsinfo

import (
	"crypto/md5"
	"crypto/sha256"
	"slices"
	"strconv"
)

// JA3 and JA3S follow Salesforce's definition (BSD-3-Clause): the decimal
// fields of the hello joined by "," and lists by "-", GREASE values
// removed, then MD5. JA4 is FoxIO's TLS client fingerprint (the JA4
// method only, BSD-3-Clause); the other JA4+ methods are not computed.

// appendDec16 appends the non-GREASE 2-byte values of b in decimal,
// joined by "-".
func appendDec16(s, b []byte) []byte {
	first := true
	for i := 0; i+1 < len(b); i += 2 {
		v := be16(b[i:])
		if isGREASE(v) {
			continue
		}
		if !first {
			s = append(s, '-')
		}
		first = false
		s = strconv.AppendUint(s, uint64(v), 10)
	}
	return s
}

// extTypes appends the extension types of an extensions block to u.
func extTypes(u []uint16, exts []byte) []uint16 {
	e := rd{b: exts}
	for len(e.b) > 0 {
		t := e.u16()
		e.vec16()
		if e.bad {
			break
		}
		u = append(u, uint16(t))
	}
	return u
}

// ja3 returns the MD5 of h's JA3 string (written to p.str).
func (p *Parser) ja3(h *hello) [16]byte {
	s := strconv.AppendUint(p.str[:0], uint64(h.version), 10)
	s = append(s, ',')
	s = appendDec16(s, h.ciphers)
	s = append(s, ',')
	first := true
	p.u16 = extTypes(p.u16[:0], h.exts)
	for _, t := range p.u16 {
		if isGREASE(t) {
			continue
		}
		if !first {
			s = append(s, '-')
		}
		first = false
		s = strconv.AppendUint(s, uint64(t), 10)
	}
	s = append(s, ',')
	s = appendDec16(s, h.groups)
	s = append(s, ',')
	for i, f := range h.formats {
		if i > 0 {
			s = append(s, '-')
		}
		s = strconv.AppendUint(s, uint64(f), 10)
	}
	p.str = s
	return md5.Sum(s)
}

// ja3s returns the MD5 of a ServerHello's JA3S string.
func (p *Parser) ja3s(version, cipher uint16, exts []byte) [16]byte {
	s := strconv.AppendUint(p.str[:0], uint64(version), 10)
	s = append(s, ',')
	s = strconv.AppendUint(s, uint64(cipher), 10)
	s = append(s, ',')
	first := true
	p.u16 = extTypes(p.u16[:0], exts)
	for _, t := range p.u16 {
		if isGREASE(t) {
			continue
		}
		if !first {
			s = append(s, '-')
		}
		first = false
		s = strconv.AppendUint(s, uint64(t), 10)
	}
	p.str = s
	return md5.Sum(s)
}

const hexDigits = "0123456789abcdef"

func appendHex16(s []byte, v uint16) []byte {
	return append(s, hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
}

// ja4Version is JA4's 2-character version.
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	}
	return "00"
}

// alpnChar is a JA4 ALPN character: non-ASCII bytes become '9'.
func alpnChar(b byte) byte {
	if b >= 0x80 {
		return '9'
	}
	return b
}

// hash12 appends the first 12 hex digits of the SHA-256 of s, or 12
// zeros for an empty s.
func hash12(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	for _, c := range sum[:6] {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// ja4 writes h's JA4 to out: "t", version, SNI d/i, cipher and extension
// counts, ALPN first/last character, then the truncated SHA-256 of the
// sorted cipher list and of the sorted extensions (SNI and ALPN left out)
// with the signature algorithms in wire order.
func (p *Parser) ja4(h *hello, sni bool, out *[ja4Len]byte) {
	v := h.version
	if h.hasVers {
		var best uint16
		for i := 0; i+1 < len(h.versions); i += 2 {
			if x := be16(h.versions[i:]); !isGREASE(x) && x > best {
				best = x
			}
		}
		v = best
	}
	var a [10]byte
	a[0] = 't'
	copy(a[1:3], ja4Version(v))
	a[3] = 'i'
	if sni {
		a[3] = 'd'
	}
	// ciphers, sorted
	u := p.u16[:0]
	for i := 0; i+1 < len(h.ciphers); i += 2 {
		if x := be16(h.ciphers[i:]); !isGREASE(x) {
			u = append(u, x)
		}
	}
	nc := min(len(u), 99)
	slices.Sort(u)
	s := p.str[:0]
	for i, x := range u {
		if i > 0 {
			s = append(s, ',')
		}
		s = appendHex16(s, x)
	}
	var b [12]byte
	hash12(b[:0], s)
	// extensions, sorted, without SNI and ALPN, then the signature
	// algorithms
	u = u[:0]
	ne := 0
	p.exts = extTypes(p.exts[:0], h.exts)
	for _, t := range p.exts {
		if isGREASE(t) {
			continue
		}
		ne++
		if t != extSNI && t != extALPN {
			u = append(u, t)
		}
	}
	ne = min(ne, 99)
	slices.Sort(u)
	s = s[:0]
	for i, x := range u {
		if i > 0 {
			s = append(s, ',')
		}
		s = appendHex16(s, x)
	}
	if len(h.sigs) >= 2 && len(s) > 0 {
		s = append(s, '_')
		for i := 0; i+1 < len(h.sigs); i += 2 {
			if i > 0 {
				s = append(s, ',')
			}
			s = appendHex16(s, be16(h.sigs[i:]))
		}
	}
	var cc [12]byte
	hash12(cc[:0], s)
	p.str = s
	p.u16 = u
	a[4] = byte('0' + nc/10)
	a[5] = byte('0' + nc%10)
	a[6] = byte('0' + ne/10)
	a[7] = byte('0' + ne%10)
	a[8], a[9] = '0', '0'
	r := rd{b: h.alpn}
	if first := r.vec8(); len(first) > 0 {
		a[8] = alpnChar(first[0])
		if len(first) > 1 {
			a[9] = alpnChar(first[len(first)-1])
		}
	}
	o := out[:0]
	o = append(o, a[:]...)
	o = append(o, '_')
	o = append(o, b[:]...)
	o = append(o, '_')
	_ = append(o, cc[:]...)
}
