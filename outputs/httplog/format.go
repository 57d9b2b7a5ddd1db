package httplog

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Framing of the queue buffers (pipe.AppendHeader): a header, then n bytes.
//
//	op (1) | id (8) | arg (8) | n (4) | n bytes
//
// opLine: id and arg are the request's and the response's body ids (0:
// none), the bytes a line record (see appendRecord; the writer formats it
// and adds the body fields). opOpen: arg is the content coding, the bytes the file
// name. opData: arg is the offset in the body. opEnd: arg is the length
// the file must reach, the bytes 8 bytes of endXxx flags.
const hdrLen = pipe.HdrLen

const (
	opLine = 1 + iota
	opOpen
	opData
	opEnd
)

// opEnd flags.
const (
	endTruncated  = 1 << iota // the body was longer than BodyMax
	endGap                    // bytes of the body were lost in gaps
	endIncomplete             // the body did not reach its end
)

func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// str views b as a string without copying, for formatting calls that do
// not keep it.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// appendConnPrefix appends what every line of a connection has after its
// ts: the uid, the endpoints, the community_id (when cid is on) and the
// trans_depth key.
func appendConnPrefix(b []byte, c *reassembly.Conn, cid communityid.Field) []byte {
	b = append(b, `,"uid":"`...)
	b = connlog.AppendUID(b, c.ID())
	cl, sv := c.Client(), c.Server()
	b = append(b, `","id.orig_h":`...)
	b = appendAddr(b, cl.Addr())
	b = append(b, `,"id.orig_p":`...)
	b = jsonw.AppendUint(b, uint64(cl.Port()))
	b = append(b, `,"id.resp_h":`...)
	b = appendAddr(b, sv.Addr())
	b = append(b, `,"id.resp_p":`...)
	b = jsonw.AppendUint(b, uint64(sv.Port()))
	b = cid.AppendJSON(b, cl, sv)
	return append(b, `,"trans_depth":`...)
}

// A line travels to the writer goroutine as a compact record that the
// writer formats, so that the worker only copies a few fields (the JSON
// escaping and number formatting run off the packet path):
//
//	ts, response ts (8 each) | depth, request body len, response body len,
//	gap bytes (8 each) | status, interim (2 each) | flags (2) | has (1) |
//	nstr strings, each a 4-byte length (absentLen: absent) and its bytes
//
// The strings are, in order: the connection prefix (appendConnPrefix),
// method, host, uri, referrer, proto, user agent, request content type,
// reason, response content type.
const (
	recFixed  = 8*6 + 2*2 + 2 + 1
	absentLen = 1<<32 - 1
)

const (
	sPrefix = iota
	sMethod
	sHost
	sURI
	sReferrer
	sProto
	sUA
	sReqCT
	sReason
	sResCT
	nstr
)

const (
	hasReq = 1 << iota
	hasRes
)

// lineRec is a decoded line record; its strings point into the record
// (nil: absent).
type lineRec struct {
	ts, rts                         int64
	depth, reqLen, resLen, gapBytes uint64
	status, interim                 uint16
	flags                           http1.Flags
	has                             uint8
	str                             [nstr][]byte
}

func appendStr(b, v []byte) []byte {
	if v == nil {
		return binary.LittleEndian.AppendUint32(b, absentLen)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendStrS(b []byte, v string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// appendRecord appends the record of a transaction (worker side); prefix
// is appendConnPrefix of its connection. req or res may be nil (not both).
func appendRecord(b, prefix []byte, req *http1.Request, res *http1.Response) []byte {
	var first *http1.Message
	var has uint8
	var flags http1.Flags
	var reqLen, resLen, gapBytes uint64
	var rts int64
	var status, interim uint16
	if req != nil {
		first = &req.Message
		has |= hasReq
		flags |= req.Flags
		reqLen, gapBytes = req.BodyLen, req.GapLen
	} else {
		first = &res.Message
		flags |= http1.FlagNoRequest
	}
	if res != nil {
		has |= hasRes
		flags |= res.Flags
		resLen, rts = res.BodyLen, res.Start
		gapBytes += res.GapLen
		status, interim = uint16(min(max(res.StatusCode, 0), 0xffff)), uint16(min(max(res.Interim, 0), 0xffff))
	} else {
		flags |= http1.FlagNoResponse
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(first.Start))
	b = binary.LittleEndian.AppendUint64(b, uint64(rts))
	b = binary.LittleEndian.AppendUint64(b, uint64(max(first.Depth, 0)))
	b = binary.LittleEndian.AppendUint64(b, reqLen)
	b = binary.LittleEndian.AppendUint64(b, resLen)
	b = binary.LittleEndian.AppendUint64(b, gapBytes)
	b = binary.LittleEndian.AppendUint16(b, status)
	b = binary.LittleEndian.AppendUint16(b, interim)
	b = binary.LittleEndian.AppendUint16(b, uint16(flags))
	b = append(b, has)
	b = appendStr(b, prefix)
	if req != nil {
		var h reqHeaders
		h.find(&req.Header)
		b = appendStrS(b, req.Method)
		b = appendStr(b, h.host)
		b = appendStrS(b, req.URI)
		b = appendStr(b, h.referer)
		b = appendStrS(b, first.Proto)
		b = appendStr(b, h.ua)
		b = appendStr(b, h.ctype)
	} else {
		for range 4 {
			b = appendStr(b, nil)
		}
		b = appendStrS(b, first.Proto)
		b = appendStr(b, nil)
		b = appendStr(b, nil)
	}
	if res != nil {
		b = appendStrS(b, res.Reason)
		b = appendStr(b, res.ContentType())
	} else {
		b = appendStr(b, nil)
		b = appendStr(b, nil)
	}
	return b
}

// reqHeaders are the request headers a line shows: the first field of
// each name, nil when absent (as Header.Get), found in one pass.
type reqHeaders struct{ host, referer, ua, ctype []byte }

func (r *reqHeaders) find(h *http1.Header) {
	for i, n := 0, h.Len(); i < n; i++ {
		name, value := h.At(i)
		var dst *[]byte
		switch len(name) {
		case 4:
			if asciiFold(name, "host") {
				dst = &r.host
			}
		case 7:
			if asciiFold(name, "referer") {
				dst = &r.referer
			}
		case 10:
			if asciiFold(name, "user-agent") {
				dst = &r.ua
			}
		case 12:
			if asciiFold(name, "content-type") {
				dst = &r.ctype
			}
		}
		if dst != nil && *dst == nil {
			*dst = value
		}
	}
}

// asciiFold reports whether b equals the lower-case ASCII s, ignoring
// case (b and s have the same length).
func asciiFold(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// decodeRecord parses a record (writer side); false if it is malformed.
func decodeRecord(p []byte, r *lineRec) bool {
	if len(p) < recFixed {
		return false
	}
	le := binary.LittleEndian
	r.ts = int64(le.Uint64(p))
	r.rts = int64(le.Uint64(p[8:]))
	r.depth = le.Uint64(p[16:])
	r.reqLen = le.Uint64(p[24:])
	r.resLen = le.Uint64(p[32:])
	r.gapBytes = le.Uint64(p[40:])
	r.status = le.Uint16(p[48:])
	r.interim = le.Uint16(p[50:])
	r.flags = http1.Flags(le.Uint16(p[52:]))
	r.has = p[54]
	p = p[recFixed:]
	for i := range r.str {
		if len(p) < 4 {
			return false
		}
		n := le.Uint32(p)
		p = p[4:]
		if n == absentLen {
			r.str[i] = nil
			continue
		}
		if uint64(len(p)) < uint64(n) {
			return false
		}
		r.str[i] = p[:n:n]
		p = p[n:]
	}
	return len(p) == 0
}

// appendLine appends the JSON line of a record, without its closing
// "}\n" (writer side).
func appendLine(b []byte, r *lineRec) []byte {
	b = append(b, `{"ts":`...)
	b = connlog.AppendTime(b, r.ts)
	b = append(b, r.str[sPrefix]...)
	b = jsonw.AppendUint(b, r.depth)
	if r.has&hasReq != 0 {
		b = append(b, `,"method":`...)
		b = jsonw.AppendString(b, str(r.str[sMethod]))
		b = appendHeader(b, `,"host":`, r.str[sHost])
		b = append(b, `,"uri":`...)
		b = jsonw.AppendString(b, str(r.str[sURI]))
		b = appendHeader(b, `,"referrer":`, r.str[sReferrer])
	}
	b = append(b, `,"version":`...)
	b = jsonw.AppendString(b, strings.TrimPrefix(str(r.str[sProto]), "HTTP/"))
	if r.has&hasReq != 0 {
		b = appendHeader(b, `,"user_agent":`, r.str[sUA])
		b = appendHeader(b, `,"request_content_type":`, r.str[sReqCT])
	}
	b = append(b, `,"request_body_len":`...)
	b = jsonw.AppendUint(b, r.reqLen)
	b = append(b, `,"response_body_len":`...)
	b = jsonw.AppendUint(b, r.resLen)
	if r.has&hasRes != 0 {
		b = append(b, `,"status_code":`...)
		b = jsonw.AppendUint(b, uint64(r.status))
		if len(r.str[sReason]) > 0 {
			b = append(b, `,"status_msg":`...)
			b = jsonw.AppendString(b, str(r.str[sReason]))
		}
		if r.interim > 0 {
			b = append(b, `,"info_code":`...)
			b = jsonw.AppendUint(b, uint64(r.interim))
		}
		b = appendHeader(b, `,"content_type":`, r.str[sResCT])
		b = append(b, `,"response_ts":`...)
		b = connlog.AppendTime(b, r.rts)
	}
	for _, f := range flagFields {
		if r.flags&f.f != 0 {
			b = append(b, f.name...)
		}
	}
	if r.gapBytes > 0 {
		b = append(b, `,"gap_bytes":`...)
		b = jsonw.AppendUint(b, r.gapBytes)
	}
	return b
}

// flagFields are the boolean fields, in line order.
var flagFields = [...]struct {
	f    http1.Flags
	name string
}{
	{http1.FlagIncomplete, `,"incomplete":true`},
	{http1.FlagGap, `,"gap":true`},
	{http1.FlagNoResponse, `,"no_response":true`},
	{http1.FlagNoRequest, `,"no_request":true`},
	{http1.FlagResynced, `,"resynced":true`},
	{http1.FlagTunnel, `,"tunnel":true`},
	{http1.FlagBadFraming, `,"bad_framing":true`},
	{http1.FlagHeaderLimit, `,"header_limit":true`},
	{http1.FlagOverflow, `,"pipeline_overflow":true`},
}

// appendHeader appends name and a header value as a JSON string, or
// nothing when the header is absent.
func appendHeader(b []byte, name string, v []byte) []byte {
	if v == nil {
		return b
	}
	b = append(b, name...)
	return jsonw.AppendString(b, str(v))
}

func appendAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.Unmap().WithZone("").AppendTo(b)
	return append(b, '"')
}

// Content codings of a body.
const (
	encNone    = iota // none or identity
	encGzip           // gzip, x-gzip
	encDeflate        // deflate (zlib, or raw deflate as some servers send)
	encBr             // br (kept as is)
	encZstd           // zstd (kept as is)
	encOther          // unknown or several codings (kept as is)
)

var encExt = [...]string{encGzip: ".gz", encDeflate: ".deflate", encBr: ".br", encZstd: ".zst"}

// encodingOf classifies a Content-Encoding value.
func encodingOf(v []byte) int {
	var low [16]byte
	n, ok := lower(low[:], v)
	if !ok {
		return encOther
	}
	switch string(low[:n]) {
	case "", "identity":
		return encNone
	case "gzip", "x-gzip":
		return encGzip
	case "deflate":
		return encDeflate
	case "br":
		return encBr
	case "zstd":
		return encZstd
	}
	return encOther
}

// lower copies v trimmed of spaces and tabs into dst, lower-cased; false
// when it does not fit.
func lower(dst []byte, v []byte) (int, bool) {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) > len(dst) {
		return 0, false
	}
	for i, c := range v {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return len(v), true
}

// extOf returns the file extension for a Content-Type value (parameters
// ignored), "" when the type is absent or not in the list. The list is
// fixed: nothing from the traffic reaches a file name.
func extOf(ct []byte) string {
	for i, c := range ct {
		if c == ';' {
			ct = ct[:i]
			break
		}
	}
	var low [40]byte
	n, ok := lower(low[:], ct)
	if !ok {
		return ""
	}
	switch string(low[:n]) {
	case "text/html":
		return ".html"
	case "text/plain":
		return ".txt"
	case "text/css":
		return ".css"
	case "text/csv":
		return ".csv"
	case "text/xml", "application/xml", "application/rss+xml", "application/atom+xml":
		return ".xml"
	case "application/xhtml+xml":
		return ".xhtml"
	case "text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript":
		return ".js"
	case "application/json", "text/json":
		return ".json"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/svg+xml":
		return ".svg"
	case "image/x-icon", "image/vnd.microsoft.icon":
		return ".ico"
	case "image/bmp":
		return ".bmp"
	case "application/pdf":
		return ".pdf"
	case "application/zip":
		return ".zip"
	case "application/gzip", "application/x-gzip":
		return ".gz"
	case "application/octet-stream":
		return ".bin"
	case "application/wasm":
		return ".wasm"
	case "font/woff":
		return ".woff"
	case "font/woff2":
		return ".woff2"
	case "video/mp4":
		return ".mp4"
	case "audio/mpeg":
		return ".mp3"
	}
	return ""
}

// appendBodyName appends a body file's name:
//
//	<uid>-<trans_depth>-req|res[-orphan][<type ext>][<coding ext>]
//
// "-orphan" marks a response without a request (its depth is its rank
// among the connection's responses, which a paired depth may repeat).
func appendBodyName(b []byte, id uint64, m *http1.Message, enc int) []byte {
	b = connlog.AppendUID(b, id)
	b = append(b, '-')
	b = jsonw.AppendUint(b, uint64(max(m.Depth, 0)))
	if m.IsRequest() {
		b = append(b, "-req"...)
	} else {
		b = append(b, "-res"...)
		if r := m.AsResponse(); r != nil && r.Request() == nil {
			b = append(b, "-orphan"...)
		}
	}
	b = append(b, extOf(m.ContentType())...)
	if enc < len(encExt) {
		b = append(b, encExt[enc]...)
	}
	return b
}
