package ssllog

import "time"

// leafFields walks a certificate's DER as far as its subject (RFC 5280
// 4.1: Certificate, TBSCertificate, optional version, serialNumber,
// signature, issuer, validity, subject) without parsing the rest: the
// TLS log needs only the names and the validity.
func leafFields(der []byte) (issuer, subject []byte, notBefore, notAfter time.Time, ok bool) {
	cert, _, ok := derElem(der, 0x30)
	if !ok {
		return
	}
	tbs, _, ok := derElem(cert, 0x30)
	if !ok {
		return
	}
	rest := tbs
	if len(rest) > 0 && rest[0] == 0xa0 { // [0] version
		if _, rest, ok = derElem(rest, 0xa0); !ok {
			return
		}
	}
	if _, rest, ok = derElem(rest, 0x02); !ok { // serialNumber
		return
	}
	if _, rest, ok = derElem(rest, 0x30); !ok { // signature
		return
	}
	n := len(rest)
	if _, rest, ok = derElem(rest, 0x30); !ok {
		return
	}
	issuer = tbsSlice(tbs, n, len(rest))
	var validity []byte
	if validity, rest, ok = derElem(rest, 0x30); !ok {
		return
	}
	if notBefore, validity, ok = derTime(validity); !ok {
		return
	}
	if notAfter, _, ok = derTime(validity); !ok {
		return
	}
	n = len(rest)
	if _, rest, ok = derElem(rest, 0x30); !ok {
		return
	}
	subject = tbsSlice(tbs, n, len(rest))
	return issuer, subject, notBefore, notAfter, true
}

// tbsSlice returns the whole element (header included) that started when
// n bytes of tbs were left and ended when m were.
func tbsSlice(tbs []byte, n, m int) []byte { return tbs[len(tbs)-n : len(tbs)-m] }

// derElem reads one DER element of the given tag: its contents and what
// follows it.
func derElem(b []byte, tag byte) (content, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != tag {
		return nil, nil, false
	}
	l, hdr := int(b[1]), 2
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return nil, nil, false
		}
		l = 0
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		hdr += k
	}
	if l > len(b)-hdr {
		return nil, nil, false
	}
	return b[hdr : hdr+l], b[hdr+l:], true
}

// derTime reads a UTCTime (YYMMDDHHMMSSZ, 1950-2049) or GeneralizedTime
// (YYYYMMDDHHMMSSZ).
func derTime(b []byte) (time.Time, []byte, bool) {
	if len(b) == 0 {
		return time.Time{}, nil, false
	}
	tag := b[0]
	c, rest, ok := derElem(b, tag)
	if !ok {
		return time.Time{}, nil, false
	}
	var year int
	switch {
	case tag == 0x17 && len(c) == 13:
		y, ok := digits(c[:2])
		if !ok {
			return time.Time{}, nil, false
		}
		year = 1900 + y
		if y < 50 {
			year = 2000 + y
		}
		c = c[2:]
	case tag == 0x18 && len(c) == 15:
		y, ok := digits(c[:4])
		if !ok {
			return time.Time{}, nil, false
		}
		year = y
		c = c[4:]
	default:
		return time.Time{}, nil, false
	}
	if c[10] != 'Z' {
		return time.Time{}, nil, false
	}
	var v [5]int
	for i := range v {
		if v[i], ok = digits(c[2*i : 2*i+2]); !ok {
			return time.Time{}, nil, false
		}
	}
	return time.Date(year, time.Month(v[0]), v[1], v[2], v[3], v[4], 0, time.UTC), rest, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
