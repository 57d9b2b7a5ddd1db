package tlsinfo

import "strings"

// certificate reads a TLS 1.2-and-older Certificate message: the server's
// first (leaf) certificate is kept in Conn.Leaf; a client's non-empty
// message sets FlagClientCert. m may be only the message's first
// Config.MaxMessage bytes (whole false).
func (p *Parser) certificate(c *Conn, d Dir, m []byte, whole bool) {
	inf := &c.Info
	r := rd{b: m}
	total := r.u24()
	if r.bad {
		if whole {
			p.malformed(c)
		}
		return
	}
	p.stats.Certificates++
	if d == FromClient {
		if total > 0 {
			inf.Flags |= FlagClientCert
		}
		return
	}
	if inf.Flags&(FlagCert|FlagCertTruncated) != 0 || total == 0 {
		return
	}
	n := r.u24()
	if r.bad {
		if whole {
			p.malformed(c)
		}
		return
	}
	if n > len(r.b) {
		if whole {
			p.malformed(c)
		} else {
			inf.Flags |= FlagCertTruncated
		}
		return
	}
	c.Leaf = append(c.Leaf[:0], r.b[:n]...)
	inf.Flags |= FlagCert
}

// serverKeyExchange reads the named curve of an ECDHE key exchange
// (curve_type 3, named_curve).
func (p *Parser) serverKeyExchange(c *Conn, m []byte) {
	inf := &c.Info
	if inf.Curve != 0 || len(m) < 3 || m[0] != 3 {
		return
	}
	if name := ianaCipherName(inf.Cipher); strings.Contains(name, "_ECDHE_") || strings.Contains(name, "_ECDH_anon_") {
		inf.Curve = be16(m[1:])
	}
}
