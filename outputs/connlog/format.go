package connlog

import (
	"net/netip"
	"strconv"

	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/reassembly"
)

// UIDLen is the length of a uid: "C" and 11 base-62 digits.
const UIDLen = 1 + uidDigits

const (
	uidDigits = 11 // 62^11 > 2^64
	// base62 digits in ASCII order, so that uids of the same width sort
	// like the numbers they encode.
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// AppendUID appends the uid of a connection ID: "C" followed by the ID in
// base 62 (digits 0-9A-Za-z), zero-padded to 11 digits, so every uid is
// UIDLen bytes long and uids sort in the order of their IDs.
func AppendUID(b []byte, id uint64) []byte {
	var d [UIDLen]byte
	d[0] = 'C'
	for i := UIDLen - 1; i > 0; i-- {
		d[i] = base62[id%62]
		id /= 62
	}
	return append(b, d[:]...)
}

// UID returns AppendUID(nil, id) as a string.
func UID(id uint64) string { return string(AppendUID(nil, id)) }

// ParseUID is the inverse of UID.
func ParseUID(s string) (uint64, bool) {
	if len(s) != UIDLen || s[0] != 'C' {
		return 0, false
	}
	var v uint64
	for i := 1; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'A' && c <= 'Z':
			d = uint64(c-'A') + 10
		case c >= 'a' && c <= 'z':
			d = uint64(c-'a') + 36
		default:
			return 0, false
		}
		hi := v * 62
		if v != 0 && hi/62 != v {
			return 0, false
		}
		v = hi + d
		if v < hi {
			return 0, false
		}
	}
	return v, true
}

// AppendTime appends a Unix nanosecond time as epoch seconds with exactly
// six decimals (microseconds, truncated toward minus infinity), the way
// Zeek writes ts.
func AppendTime(b []byte, ns int64) []byte {
	return appendMicros(b, floorDiv(ns, 1000))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// appendMicros appends a count of microseconds as seconds with six
// decimals.
func appendMicros(b []byte, us int64) []byte {
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = uint64(-us)
	}
	b = jsonw.AppendUint(b, u/1e6)
	frac := u % 1e6
	var d [7]byte
	d[0] = '.'
	for i := 6; i > 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, d[:]...)
}

// AppendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, U+2028/U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD (as encoding/json does).
func AppendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

// appendAddr appends an address as a JSON string (IPv4 dotted, IPv6 in
// RFC 5952 form; the characters are all safe, no escaping needed).
func appendAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// Zeek endpoint states, as in Zeek's conn_state().
type epState uint8

const (
	epInactive   epState = iota // nothing seen
	epSynSent                   // SYN sent, no SYN from the peer
	epSynAckSent                // SYN+ACK sent, the peer's SYN not seen
	epPartial                   // active, but its SYN was never seen
	epEstablished
	epClosed // sent a FIN
	epReset  // sent a RST
)

func endpointState(self, peer *reassembly.DirStats, client, midstream bool) epState {
	synSeen := self.SYN && !(client && midstream)
	switch {
	case self.RST:
		return epReset
	case self.FIN:
		return epClosed
	case synSeen && peer.SYN:
		return epEstablished
	case synSeen && client:
		return epSynSent
	case synSeen:
		return epSynAckSent
	case self.Packets > 0:
		return epPartial
	}
	return epInactive
}

// ConnState returns Zeek's conn_state for a TCP connection from the
// per-direction counters (orig = client role), whether it was picked up
// midstream, and its history. See FIELDS.md for the mapping.
func ConnState(orig, resp reassembly.DirStats, midstream bool, history string) string {
	ost := endpointState(&orig, &resp, true, midstream)
	rst := endpointState(&resp, &orig, false, midstream)
	oInactive := ost == epInactive || ost == epPartial
	rInactive := rst == epInactive || rst == epPartial
	switch {
	case rst == epReset:
		if ost == epSynSent || ost == epSynAckSent ||
			(ost == epReset && streamBytes(&orig) == 0 && streamBytes(&resp) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case ost == epReset:
		if rInactive {
			if rstos0History(history) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case ost == epClosed && rst == epClosed:
		return "SF"
	case ost == epClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rst == epClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case ost == epSynSent && rst == epInactive:
		return "S0"
	case ost == epEstablished && rst == epEstablished:
		return "S1"
	}
	return "OTH"
}

// rstos0History matches Zeek's /\^?S[^HAFGIQ]*R.*/ (anchored): the
// originator's SYN, then its RST with none of H A F G I Q in between.
func rstos0History(h string) bool {
	i := 0
	if i < len(h) && h[i] == '^' {
		i++
	}
	if i >= len(h) || h[i] != 'S' {
		return false
	}
	for i++; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// record is what one log line is made of: a copy of the Conn's accessors,
// so that formatting can be tested without a Table.
type record struct {
	id             uint64
	client, server netip.AddrPort
	vlans          reassembly.VLANs
	respVLANs      reassembly.VLANs // the server's packets', when they differ (Conn.Joined)
	joined         bool
	tunnel         uint32      // Key.Tunnel
	names          TunnelNamer // Options.Tunnels
	start, last    int64
	st             [2]reassembly.DirStats
	midstream      bool
	reason         reassembly.Reason
	digest         bool
	sum            [2][]byte         // sha256 of each direction when digest
	cid            communityid.Field // Options.CommunityID
	service        []byte            // names from Handler.AddService, comma-separated
	local          []netip.Prefix    // Options.LocalNets
	bypassed       bool              // the TLS log stopped passing the bytes on (Handler.SetBypassed)
	bypassedBytes  uint64
}

func (r *record) fill(c *reassembly.Conn, reason reassembly.Reason) {
	r.id = c.ID()
	r.client = c.Client()
	r.server = c.Server()
	r.vlans = c.VLANsOf(reassembly.FromClient)
	r.respVLANs = c.VLANsOf(reassembly.FromServer)
	r.joined = c.Joined()
	r.tunnel = c.Key().Tunnel
	r.start = c.StartNanos()
	r.last = c.LastNanos()
	r.st[0] = c.Stats(reassembly.FromClient)
	r.st[1] = c.Stats(reassembly.FromServer)
	r.midstream = c.Midstream()
	r.reason = reason
}

// appendVLANs appends v as a JSON array of numbers.
func appendVLANs(b []byte, v reassembly.VLANs) []byte {
	b = append(b, '[')
	for i := 0; i < int(v.N) && i < len(v.IDs); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendUint(b, uint64(v.IDs[i]))
	}
	return append(b, ']')
}

// appendRecord appends one JSON line (with its '\n'). history is passed
// apart so that the string from Conn.History can stay on the stack.
func appendRecord(b []byte, r *record, history string) []byte {
	o, s := &r.st[reassembly.FromClient], &r.st[reassembly.FromServer]
	b = append(b, `{"ts":`...)
	b = AppendTime(b, r.start)
	b = append(b, `,"uid":"`...)
	b = AppendUID(b, r.id)
	b = append(b, `","id.orig_h":`...)
	b = appendAddr(b, r.client.Addr())
	b = append(b, `,"id.orig_p":`...)
	b = jsonw.AppendUint(b, uint64(r.client.Port()))
	b = append(b, `,"id.resp_h":`...)
	b = appendAddr(b, r.server.Addr())
	b = append(b, `,"id.resp_p":`...)
	b = jsonw.AppendUint(b, uint64(r.server.Port()))
	if r.vlans.N > 0 {
		b = appendVLANs(append(b, `,"vlan":`...), r.vlans)
	}
	if r.joined {
		b = appendVLANs(append(b, `,"resp_vlan":`...), r.respVLANs)
	}
	if r.tunnel != 0 {
		b = append(b, `,"tunnel":"`...)
		if r.names != nil {
			b = r.names.AppendName(b, r.tunnel) // kind names and numbers: nothing to escape
		} else {
			b = append(b, "0x"...)
			b = strconv.AppendUint(b, uint64(r.tunnel), 16)
		}
		b = append(b, '"')
	}
	b = append(b, `,"proto":"tcp"`...)
	if len(r.service) > 0 {
		b = append(b, `,"service":"`...)
		b = append(append(b, r.service...), '"') // our names: nothing to escape
	}
	b = append(b, `,"duration":`...)
	dur := floorDiv(r.last, 1000) - floorDiv(r.start, 1000)
	if dur < 0 {
		dur = 0
	}
	b = appendMicros(b, dur)
	b = append(b, `,"orig_bytes":`...)
	b = jsonw.AppendUint(b, streamBytes(o))
	b = append(b, `,"resp_bytes":`...)
	b = jsonw.AppendUint(b, streamBytes(s))
	b = append(b, `,"conn_state":"`...)
	b = append(b, ConnState(*o, *s, r.midstream, history)...)
	b = append(b, '"')
	if len(r.local) > 0 {
		b = append(b, `,"local_orig":`...)
		b = strconv.AppendBool(b, isLocal(r.local, r.client.Addr()))
		b = append(b, `,"local_resp":`...)
		b = strconv.AppendBool(b, isLocal(r.local, r.server.Addr()))
	}
	b = append(b, `,"missed_bytes":`...)
	b = jsonw.AppendUint(b, o.Missed+s.Missed)
	b = append(b, `,"history":`...)
	b = AppendString(b, history)
	b = append(b, `,"orig_pkts":`...)
	b = jsonw.AppendUint(b, o.Packets)
	b = append(b, `,"resp_pkts":`...)
	b = jsonw.AppendUint(b, s.Packets)
	b = append(b, `,"close_reason":`...)
	b = AppendString(b, r.reason.String())
	b = append(b, `,"orig_delivered":`...)
	b = jsonw.AppendUint(b, o.Delivered)
	b = append(b, `,"resp_delivered":`...)
	b = jsonw.AppendUint(b, s.Delivered)
	if r.digest {
		b = append(b, `,"orig_sha256":"`...)
		b = appendHex(b, r.sum[0])
		b = append(b, `","resp_sha256":"`...)
		b = appendHex(b, r.sum[1])
		b = append(b, '"')
	}
	b = r.cid.AppendJSON(b, r.client, r.server)
	if r.bypassed {
		b = append(b, `,"tls_bypassed":true,"bypassed_bytes":`...)
		b = jsonw.AppendUint(b, r.bypassedBytes)
	}
	return append(b, '}', '\n')
}

// isLocal reports whether a is in one of nets.
func isLocal(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

func appendHex(b, v []byte) []byte {
	for _, c := range v {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// streamBytes is a direction's stream length as Zeek counts it (the
// sequence numbers' extent): delivered, missed, and what a bypassed
// connection neither delivered nor missed.
func streamBytes(d *reassembly.DirStats) uint64 { return d.Delivered + d.Missed + d.Bypassed }
