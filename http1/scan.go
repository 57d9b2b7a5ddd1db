package http1

import "bytes"

// knownMethods are the method tokens accepted where the parser has to
// guess whether bytes start a request: the first bytes of a connection and
// after losing sync. Elsewhere any token is accepted as a method.
var knownMethods = [...]string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	// WebDAV, CalDAV, DeltaV (RFC 4918, 4791, 3253, 3648, 5323, 5842)
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
	"REPORT", "MKACTIVITY", "CHECKOUT", "CHECKIN", "UNCHECKOUT", "MERGE",
	"MKWORKSPACE", "UPDATE", "LABEL", "VERSION-CONTROL", "BASELINE-CONTROL",
	"MKCALENDAR", "ACL", "BIND", "UNBIND", "REBIND", "ORDERPATCH",
	// others seen in the wild
	"PURGE", "LINK", "UNLINK", "QUERY", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "SOURCE",
}

const maxMethodLen = 20

// methodFirst marks the bytes a known method starts with.
var methodFirst [256]bool

func init() {
	for _, m := range knownMethods {
		methodFirst[m[0]] = true
	}
}

// knownMethod returns the interned method string for b, if b is known
// (a switch: compiled to a search, no allocation).
func knownMethod(b []byte) (string, bool) {
	switch string(b) {
	case "GET":
		return "GET", true
	case "HEAD":
		return "HEAD", true
	case "POST":
		return "POST", true
	case "PUT":
		return "PUT", true
	case "DELETE":
		return "DELETE", true
	case "CONNECT":
		return "CONNECT", true
	case "OPTIONS":
		return "OPTIONS", true
	case "TRACE":
		return "TRACE", true
	case "PATCH":
		return "PATCH", true
	case "PROPFIND":
		return "PROPFIND", true
	case "PROPPATCH":
		return "PROPPATCH", true
	case "MKCOL":
		return "MKCOL", true
	case "COPY":
		return "COPY", true
	case "MOVE":
		return "MOVE", true
	case "LOCK":
		return "LOCK", true
	case "UNLOCK":
		return "UNLOCK", true
	case "SEARCH":
		return "SEARCH", true
	case "REPORT":
		return "REPORT", true
	case "MKACTIVITY":
		return "MKACTIVITY", true
	case "CHECKOUT":
		return "CHECKOUT", true
	case "CHECKIN":
		return "CHECKIN", true
	case "UNCHECKOUT":
		return "UNCHECKOUT", true
	case "MERGE":
		return "MERGE", true
	case "MKWORKSPACE":
		return "MKWORKSPACE", true
	case "UPDATE":
		return "UPDATE", true
	case "LABEL":
		return "LABEL", true
	case "VERSION-CONTROL":
		return "VERSION-CONTROL", true
	case "BASELINE-CONTROL":
		return "BASELINE-CONTROL", true
	case "MKCALENDAR":
		return "MKCALENDAR", true
	case "ACL":
		return "ACL", true
	case "BIND":
		return "BIND", true
	case "UNBIND":
		return "UNBIND", true
	case "REBIND":
		return "REBIND", true
	case "ORDERPATCH":
		return "ORDERPATCH", true
	case "PURGE":
		return "PURGE", true
	case "LINK":
		return "LINK", true
	case "UNLINK":
		return "UNLINK", true
	case "QUERY":
		return "QUERY", true
	case "M-SEARCH":
		return "M-SEARCH", true
	case "NOTIFY":
		return "NOTIFY", true
	case "SUBSCRIBE":
		return "SUBSCRIBE", true
	case "UNSUBSCRIBE":
		return "UNSUBSCRIBE", true
	case "SOURCE":
		return "SOURCE", true
	}
	return "", false
}

// methodPrefix reports whether b is a prefix of a known method.
func methodPrefix(b []byte) bool {
	for _, m := range knownMethods {
		if len(b) <= len(m) && m[:len(b)] == string(b) {
			return true
		}
	}
	return false
}

func isMethodChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z'
}

var protos = [...]string{"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3", "HTTP/1.4", "HTTP/1.5", "HTTP/1.6", "HTTP/1.7", "HTTP/1.8", "HTTP/1.9"}

// reasonString interns the common reason phrases.
func reasonString(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "OK":
		return "OK"
	case "Continue":
		return "Continue"
	case "Switching Protocols":
		return "Switching Protocols"
	case "Created":
		return "Created"
	case "Accepted":
		return "Accepted"
	case "No Content":
		return "No Content"
	case "Partial Content":
		return "Partial Content"
	case "Moved Permanently":
		return "Moved Permanently"
	case "Found":
		return "Found"
	case "See Other":
		return "See Other"
	case "Not Modified":
		return "Not Modified"
	case "Temporary Redirect":
		return "Temporary Redirect"
	case "Permanent Redirect":
		return "Permanent Redirect"
	case "Bad Request":
		return "Bad Request"
	case "Unauthorized":
		return "Unauthorized"
	case "Forbidden":
		return "Forbidden"
	case "Not Found":
		return "Not Found"
	case "Method Not Allowed":
		return "Method Not Allowed"
	case "Proxy Authentication Required":
		return "Proxy Authentication Required"
	case "Too Many Requests":
		return "Too Many Requests"
	case "Internal Server Error":
		return "Internal Server Error"
	case "Bad Gateway":
		return "Bad Gateway"
	case "Service Unavailable":
		return "Service Unavailable"
	case "Gateway Timeout":
		return "Gateway Timeout"
	case "Connection established":
		return "Connection established"
	case "Connection Established":
		return "Connection Established"
	}
	return string(b)
}

// check results.
const (
	ckInvalid = iota
	ckMore    // a plausible prefix: need more bytes to decide
	ckValid
)

// startLine is the position of a start line's parts in a buffer.
type startLine struct {
	lf     int // index of the terminating LF
	end    int // end of the line's content (CR excluded)
	mEnd   int // request: method is b[:mEnd]
	uS, uE int // request: target
	minor  int
	code   int // response: status
	rS, rE int // response: reason phrase
	bad    int // invalid: a bad byte past the start that rules out every start before it, or 0
}

// checkRequest decides whether b starts with a request line: METHOD SP
// target SP HTTP/1.d CRLF (a bare LF is accepted). strict only accepts
// known methods and plausible targets. A line whose content is longer than
// max is invalid.
func checkRequest(b []byte, strict bool, max int) (int, startLine) {
	var sl startLine
	i := 0
	for i < len(b) && i <= maxMethodLen && isMethodChar(b[i]) {
		i++
	}
	if i == len(b) {
		if i > maxMethodLen || strict && !methodPrefix(b) {
			return ckInvalid, sl
		}
		return more(b, max), sl
	}
	if i == 0 || b[i] != ' ' || i > maxMethodLen {
		return ckInvalid, sl
	}
	if strict {
		if _, ok := knownMethod(b[:i]); !ok {
			return ckInvalid, sl
		}
	}
	sl.mEnd = i
	i++
	sl.uS = i
	if i < len(b) && strict && !targetStart(b[i]) {
		return ckInvalid, sl
	}
	if j := bytes.IndexByte(b[i:], ' '); j >= 0 {
		for k := i; k < i+j; k++ {
			if b[k] < ' ' || b[k] == 0x7f {
				return ckInvalid, sl
			}
		}
		i += j
	} else {
		for k := i; k < len(b); k++ {
			if b[k] < ' ' || b[k] == 0x7f {
				return ckInvalid, sl
			}
		}
		return more(b, max), sl
	}
	if i == sl.uS {
		return ckInvalid, sl
	}
	sl.uE = i
	i++
	const v = "HTTP/1."
	for k := 0; k < len(v)+1; k++ {
		if i+k == len(b) {
			return more(b, max), sl
		}
		c := b[i+k]
		if k < len(v) && c != v[k] || k == len(v) && (c < '0' || c > '9') {
			return ckInvalid, sl
		}
	}
	sl.minor = int(b[i+len(v)] - '0')
	i += len(v) + 1
	return lineEnd(b, i, max, &sl)
}

// checkResponse decides whether b starts with a status line:
// HTTP/1.d SP ddd [SP reason] CRLF (a bare LF is accepted).
// Bytes of b before known are already known to be reason-phrase bytes
// (see findStart).
func checkResponse(b []byte, max, known int) (int, startLine) {
	var sl startLine
	const v = "HTTP/1."
	i := 0
	for ; i < len(v)+5; i++ {
		if i == len(b) {
			return more(b, max), sl
		}
		c := b[i]
		switch {
		case i < len(v):
			if c != v[i] {
				return ckInvalid, sl
			}
		case i == len(v):
			if c < '0' || c > '9' {
				return ckInvalid, sl
			}
		case i == len(v)+1:
			if c != ' ' {
				return ckInvalid, sl
			}
		default:
			if c < '0' || c > '9' {
				return ckInvalid, sl
			}
		}
	}
	sl.minor = int(b[len(v)] - '0')
	sl.code = int(b[9]-'0')*100 + int(b[10]-'0')*10 + int(b[11]-'0')
	if sl.code < 100 {
		return ckInvalid, sl
	}
	sl.rS, sl.rE = i, i
	if i == len(b) {
		return more(b, max), sl
	}
	if b[i] == ' ' {
		i++
		sl.rS = i
		if known > i {
			i = min(known, len(b))
		}
		for i < len(b) && (b[i] >= ' ' && b[i] != 0x7f || b[i] == '\t') {
			i++
		}
		sl.rE = i
	}
	return lineEnd(b, i, max, &sl)
}

// lineEnd expects CR? LF at b[i:].
func lineEnd(b []byte, i, max int, sl *startLine) (int, startLine) {
	end := i
	if i < len(b) && b[i] == '\r' {
		i++
	}
	if i == len(b) {
		return more(b, max), *sl
	}
	if i > max {
		return ckInvalid, *sl
	}
	if b[i] != '\n' {
		sl.bad = i
		return ckInvalid, *sl
	}
	sl.lf, sl.end = i, end
	return ckValid, *sl
}

// more is the verdict for a plausible prefix without its line end: more
// bytes are needed, unless the line is already too long.
func more(b []byte, max int) int {
	if len(b) > max {
		return ckInvalid
	}
	return ckMore
}

func targetStart(c byte) bool {
	return c == '/' || c == '*' || c == '[' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func checkStart(b []byte, req, strict bool, max int) (int, startLine) {
	if len(b) > max+1 {
		b = b[:max+1] // a line must end within: never scan further
	}
	if req {
		return checkRequest(b, strict, max)
	}
	return checkResponse(b, max, 0)
}

// findStart looks for the first position in b where a plausible start line
// begins (known methods only). It returns the position and ckValid (the
// whole line is in b), ckMore (b ends before the line does) or ckInvalid
// (none: the position is len(b)).
//
// For status lines it remembers the run of reason-phrase bytes the last
// candidate scanned, so that candidates inside a long reason phrase do not
// scan it again: the search stays linear.
func findStart(b []byte, req bool, max int) (int, int) {
	runS, runE := 0, 0 // b[runS:runE] are reason-phrase bytes
	for i := 0; i < len(b); i++ {
		if req {
			for i < len(b) && !methodFirst[b[i]] {
				i++
			}
		} else {
			j := bytes.IndexByte(b[i:], 'H')
			if j < 0 {
				i = len(b)
			} else {
				i += j
			}
		}
		if i == len(b) {
			break
		}
		var r int
		var sl startLine
		if req {
			r, sl = checkStart(b[i:], true, true, max)
		} else {
			w := b[i:]
			if len(w) > max+1 {
				w = w[:max+1]
			}
			known := 0
			if runS <= i+len("HTTP/1.1 200 ") && runE > i {
				known = runE - i
			}
			r, sl = checkResponse(w, max, known)
			if sl.rE > sl.rS {
				runS, runE = i+sl.rS, i+sl.rE
			}
		}
		if r != ckInvalid {
			return i, r
		}
		if !req && sl.bad > 0 {
			// Any status line starting before the bad byte would end
			// at it too (its reason phrase runs up to the same byte).
			i += sl.bad - 1
		}
	}
	return len(b), ckInvalid
}

// trimOWS trims spaces and tabs at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseDecimal parses a Content-Length value: digits, or a comma-separated
// list of identical digit strings (RFC 9110 8.6).
func parseDecimal(b []byte) (int64, bool) {
	var first int64 = -1
	for len(b) > 0 {
		var part []byte
		if i := bytes.IndexByte(b, ','); i >= 0 {
			part, b = b[:i], b[i+1:]
		} else {
			part, b = b, nil
		}
		part = trimOWS(part)
		if len(part) == 0 || len(part) > 18 {
			return -1, false
		}
		var n int64
		for _, c := range part {
			if c < '0' || c > '9' {
				return -1, false
			}
			n = n*10 + int64(c-'0')
		}
		if first >= 0 && n != first {
			return -1, false
		}
		first = n
	}
	return first, first >= 0
}

// lastTokenIs reports whether the last comma-separated token of b is tok
// (case-insensitive; parameters after ';' ignored).
func lastTokenIs(b []byte, tok string) bool {
	if i := bytes.LastIndexByte(b, ','); i >= 0 {
		b = b[i+1:]
	}
	if i := bytes.IndexByte(b, ';'); i >= 0 {
		b = b[:i]
	}
	return equalFold(trimOWS(b), tok)
}

// hasToken reports whether the comma-separated list b contains tok.
func hasToken(b []byte, tok string) bool {
	for len(b) > 0 {
		var part []byte
		if i := bytes.IndexByte(b, ','); i >= 0 {
			part, b = b[:i], b[i+1:]
		} else {
			part, b = b, nil
		}
		if equalFold(trimOWS(part), tok) {
			return true
		}
	}
	return false
}

// parseChunkSize parses a chunk-size line: [BWS] hex [BWS] [; ext].
func parseChunkSize(b []byte) (uint64, bool) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	var n uint64
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto done
		}
		if i >= 16 {
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
done:
	if i == 0 {
		return 0, false
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t':
			continue
		case ';':
			return n, true
		}
		return 0, false
	}
	return n, true
}
