package http1

import "github.com/fastsniff/fastsniff/reassembly"

// SOCKS: a client that opens with a SOCKS4/4a or SOCKS5 handshake (first
// byte 4 or 5, which no request line starts with) tunnels its
// connection; the handshake's messages are read and skipped in each
// direction, and HTTP is then looked for in what follows, as at the start
// of a connection. Messages are parsed by their first byte, so the order
// in which the two directions are delivered does not matter:
//
//	client SOCKS4: 04 CD PORT(2) IP(4) USERID 00 [DOMAIN 00 when IP is 0.0.0.x]
//	server SOCKS4: 00 CD PORT(2) IP(4)
//	client SOCKS5: 05 N METHODS(N), [01 ULEN UNAME PLEN PASSWD], 05 CMD 00 ATYP ADDR PORT(2)
//	server SOCKS5: 05 METHOD, [01 STATUS], 05 REP 00 ATYP ADDR PORT(2)

// socksMax bounds a SOCKS message (a SOCKS4a request with a 255-byte user
// id and domain is the longest).
const socksMax = 2 + 2 + 4 + 256 + 256

// socksState is a SOCKS connection's handshake, per direction.
type socksState struct {
	ver   byte
	step  [2]uint8 // messages done
	done  [2]bool  // the handshake is over in that direction
	n     [2]int
	buf   [2][socksMax]byte // a message cut across calls
	fresh [2]bool           // the next bytes start the tunnelled stream
}

// socksStart reports whether a client stream starting with b is a SOCKS
// handshake.
func socksStart(b []byte) bool { return len(b) > 0 && (b[0] == 4 || b[0] == 5) }

// socksMsgLen returns the length of the SOCKS message at the start of b
// sent by direction i after step messages, 0 when b is too short to
// tell, -1 when b is not SOCKS.
func socksMsgLen(ver byte, i int, step uint8, b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if ver == 4 {
		if i == 1 {
			if b[0] != 0 {
				return -1
			}
			return min8(8, b)
		}
		if b[0] != 4 || len(b) >= 2 && b[1] != 1 && b[1] != 2 {
			return -1
		}
		if len(b) < 9 {
			return 0
		}
		end := indexZero(b[8:])
		if end < 0 {
			return limit(b)
		}
		n := 8 + end + 1
		if b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0 { // 4a: a domain follows
			d := indexZero(b[n:])
			if d < 0 {
				return limit(b)
			}
			n += d + 1
		}
		return n
	}
	// SOCKS5
	switch {
	case i == 0 && step == 0: // greeting
		if b[0] != 5 {
			return -1
		}
		if len(b) < 2 {
			return 0
		}
		return min8(2+int(b[1]), b)
	case i == 1 && step == 0: // method choice
		if b[0] != 5 {
			return -1
		}
		return min8(2, b)
	case b[0] == 1 && i == 0: // username/password
		if len(b) < 2 {
			return 0
		}
		u := 2 + int(b[1])
		if len(b) < u+1 {
			return 0
		}
		return min8(u+1+int(b[u]), b)
	case b[0] == 1 && i == 1: // its status
		return min8(2, b)
	case b[0] == 5: // request or reply
		if len(b) < 5 {
			return 0
		}
		switch b[3] {
		case 1:
			return min8(10, b)
		case 4:
			return min8(22, b)
		case 3:
			return min8(7+int(b[4]), b)
		}
	}
	return -1
}

// min8 returns n when b holds n bytes, else 0 (more needed).
func min8(n int, b []byte) int {
	if len(b) >= n {
		return n
	}
	return 0
}

// limit: a message not ended within socksMax bytes is not SOCKS.
func limit(b []byte) int {
	if len(b) >= socksMax {
		return -1
	}
	return 0
}

func indexZero(b []byte) int {
	for k, c := range b {
		if c == 0 {
			return k
		}
	}
	return -1
}

// socksFeed consumes the handshake bytes of direction i at the start of
// b and returns the rest (the tunnelled stream), or ok false when the
// bytes are not SOCKS.
func socksFeed(x *socksState, i int, b []byte) (rest []byte, ok bool) {
	for !x.done[i] && len(b) > 0 {
		var m []byte
		if x.n[i] > 0 {
			k := copy(x.buf[i][x.n[i]:], b)
			m = x.buf[i][:x.n[i]+k]
		} else {
			m = b
		}
		n := socksMsgLen(x.ver, i, x.step[i], m)
		switch {
		case n < 0:
			return nil, false
		case n == 0:
			if x.n[i] == 0 {
				x.n[i] = copy(x.buf[i][:], b)
			} else {
				x.n[i] = len(m)
			}
			if x.n[i] >= socksMax {
				return nil, false
			}
			return nil, true
		}
		used := n - x.n[i] // bytes of b in this message
		x.n[i] = 0
		b = b[used:]
		x.step[i]++
		// the last message: SOCKS4's request or reply; SOCKS5's request
		// or reply (first byte 5 after the greeting or method choice)
		if x.ver == 4 || x.step[i] >= 2 && m[0] == 5 {
			x.done[i] = true
			x.fresh[i] = true
		}
	}
	return b, true
}

// socks passes direction i's bytes through the SOCKS handshake; it
// returns false when nothing is left for HTTP (yet), and otherwise leaves
// in d the tunnelled bytes, at offset 0 when they start the stream.
func (p *Parser) socks(s *ConnState, i int, d *reassembly.Data) bool {
	x := s.socks
	if x == nil {
		x = &socksState{ver: d.Bytes[0]}
		s.socks = x
	}
	if x.done[i] && !x.fresh[i] {
		return true
	}
	if d.Gap > 0 {
		p.ignore(s)
		return false
	}
	rest, ok := socksFeed(x, i, d.Bytes)
	if !ok {
		p.ignore(s)
		return false
	}
	if !x.done[i] || len(rest) == 0 {
		return false
	}
	x.fresh[i] = false
	d.Bytes, d.Offset = rest, 0
	return true
}
