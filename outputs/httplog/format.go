package httplog

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Framing of the queue buffers: a header, then n bytes.
//
//	op (1) | id (8) | arg (8) | n (4) | n bytes
//
// opLine: id and arg are the request's and the response's body ids (0:
// none), the bytes a line without its closing "}\n" (the writer adds the
// body fields). opOpen: arg is the content coding, the bytes the file
// name. opData: arg is the offset in the body. opEnd: arg is the length
// the file must reach, the bytes 8 bytes of endXxx flags.
const hdrLen = 1 + 8 + 8 + 4

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

func appendHdr(b []byte, op byte, id, arg uint64, n int) []byte {
	b = append(b, op)
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint64(b, arg)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// setLen patches the length of the record that starts at rec[0].
func setLen(rec []byte, n int) { binary.LittleEndian.PutUint32(rec[17:], uint32(n)) }

// str views b as a string without copying, for formatting calls that do
// not keep it.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// appendLine appends a transaction's line without its closing "}\n".
// req or res may be nil (not both).
func appendLine(b []byte, c *reassembly.Conn, req *http1.Request, res *http1.Response) []byte {
	var first *http1.Message
	if req != nil {
		first = &req.Message
	} else {
		first = &res.Message
	}
	b = append(b, `{"ts":`...)
	b = connlog.AppendTime(b, first.Start)
	b = append(b, `,"uid":"`...)
	b = connlog.AppendUID(b, c.ID())
	cl, sv := c.Client(), c.Server()
	b = append(b, `","id.orig_h":`...)
	b = appendAddr(b, cl.Addr())
	b = append(b, `,"id.orig_p":`...)
	b = appendUint(b, uint64(cl.Port()))
	b = append(b, `,"id.resp_h":`...)
	b = appendAddr(b, sv.Addr())
	b = append(b, `,"id.resp_p":`...)
	b = appendUint(b, uint64(sv.Port()))
	b = append(b, `,"trans_depth":`...)
	b = appendUint(b, uint64(max(first.Depth, 0)))
	var flags http1.Flags
	var gapBytes uint64
	if req != nil {
		b = append(b, `,"method":`...)
		b = connlog.AppendString(b, req.Method)
		b = appendHeader(b, `,"host":`, req.Host())
		b = append(b, `,"uri":`...)
		b = connlog.AppendString(b, req.URI)
		b = appendHeader(b, `,"referrer":`, req.Referer())
	}
	b = append(b, `,"version":`...)
	b = connlog.AppendString(b, strings.TrimPrefix(first.Proto, "HTTP/"))
	if req != nil {
		b = appendHeader(b, `,"user_agent":`, req.UserAgent())
		b = appendHeader(b, `,"request_content_type":`, req.ContentType())
		flags |= req.Flags
		gapBytes += req.GapLen
	}
	b = append(b, `,"request_body_len":`...)
	if req != nil {
		b = appendUint(b, req.BodyLen)
	} else {
		b = append(b, '0')
	}
	b = append(b, `,"response_body_len":`...)
	if res != nil {
		b = appendUint(b, res.BodyLen)
	} else {
		b = append(b, '0')
	}
	if res != nil {
		b = append(b, `,"status_code":`...)
		b = appendUint(b, uint64(max(res.StatusCode, 0)))
		if res.Reason != "" {
			b = append(b, `,"status_msg":`...)
			b = connlog.AppendString(b, res.Reason)
		}
		if res.Interim > 0 {
			b = append(b, `,"info_code":`...)
			b = appendUint(b, uint64(res.Interim))
		}
		b = appendHeader(b, `,"content_type":`, res.ContentType())
		b = append(b, `,"response_ts":`...)
		b = connlog.AppendTime(b, res.Start)
		flags |= res.Flags
		gapBytes += res.GapLen
	}
	if req == nil {
		flags |= http1.FlagNoRequest
	}
	if res == nil {
		flags |= http1.FlagNoResponse
	}
	for _, f := range flagFields {
		if flags&f.f != 0 {
			b = append(b, f.name...)
		}
	}
	if gapBytes > 0 {
		b = append(b, `,"gap_bytes":`...)
		b = appendUint(b, gapBytes)
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
	return connlog.AppendString(b, str(v))
}

func appendAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.Unmap().WithZone("").AppendTo(b)
	return append(b, '"')
}

func appendUint(b []byte, v uint64) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
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
	b = appendUint(b, uint64(max(m.Depth, 0)))
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
