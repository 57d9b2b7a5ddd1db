package http1

import "strings"

// Flags describe how a message was captured and parsed.
type Flags uint16

// Message flags.
const (
	// FlagIncomplete: the message did not reach its end: the connection
	// closed first, or its framing (headers, chunk sizes) was lost in a
	// gap or broke a limit and the parser had to resynchronise.
	FlagIncomplete Flags = 1 << iota
	// FlagGap: body bytes are missing (capture loss) at known positions;
	// GapLen says how many. The body was skipped over, not re-parsed.
	FlagGap
	// FlagResynced: unparsable or lost bytes were skipped right before
	// this message (the parser resynchronised on its start line).
	FlagResynced
	// FlagNoResponse: a request for which no response was seen before the
	// connection closed (Response is called with res == nil).
	FlagNoResponse
	// FlagNoRequest: a response with no request to pair with (req == nil).
	FlagNoRequest
	// FlagHeaderLimit: a header limit (line length, count or total bytes)
	// was hit; some header lines were not kept.
	FlagHeaderLimit
	// FlagBadFraming: Content-Length invalid or conflicting, a
	// Transfer-Encoding without chunked on a request, or a chunk not
	// followed by CRLF; the framing was guessed.
	FlagBadFraming
	// FlagTunnel: the connection stopped carrying HTTP after this message
	// (a 2xx answer to CONNECT, or 101 Switching Protocols).
	FlagTunnel
	// FlagOverflow: the pipeline queue was full when this request arrived,
	// so it could not be paired with its response.
	FlagOverflow
)

var flagNames = [...]string{"incomplete", "gap", "resynced", "no-response", "no-request", "header-limit", "bad-framing", "tunnel", "overflow"}

func (f Flags) String() string {
	if f == 0 {
		return "-"
	}
	var sb strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if sb.Len() > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(n)
		}
	}
	return sb.String()
}

// Has reports whether all of g are set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// header facts noted while parsing (Message.hf).
const (
	hfCL        uint8 = 1 << iota // a Content-Length was seen
	hfCLBad                       // ... invalid or conflicting
	hfTE                          // a Transfer-Encoding was seen
	hfClose                       // Connection: close
	hfKeepAlive                   // Connection: keep-alive
	hfUpgrade                     // an Upgrade header
)

// Message is what requests and responses have in common. The parser owns
// it: it is valid during the callback that hands it over (a Request stays
// valid until its Response callback returns). Clone what you keep.
type Message struct {
	// Proto is "HTTP/1.0", "HTTP/1.1", ... and ProtoMinor its minor digit.
	Proto      string
	ProtoMinor int
	// Header holds the header fields, Trailer the trailer fields of a
	// chunked body.
	Header  Header
	Trailer Header
	// ContentLength is the declared Content-Length, -1 when absent or
	// invalid.
	ContentLength int64
	// Chunked is set when the body used the chunked transfer coding.
	Chunked bool
	// Close is set when the sender asked for the connection to close
	// after this message (Connection: close, or HTTP/1.0 without
	// keep-alive).
	Close bool
	// Depth is the 1-based index of the transaction on the connection
	// (Zeek's trans_depth); a response has its request's depth, an
	// orphan response its own ordinal among the connection's responses.
	Depth int
	// Start and End are the capture times (Unix ns, Data.TS) of the data
	// that carried the message's first and last byte.
	Start, End int64
	// HeaderLen is the wire length of the start line and header block.
	HeaderLen uint64
	// WireLen is the wire length of the body, chunk framing and trailers
	// included; BodyLen is the decoded (de-chunked) length. Both count the
	// GapLen bytes that were missing from the capture.
	WireLen, BodyLen, GapLen uint64
	// Flags say how the message was captured and parsed.
	Flags Flags

	hf  uint8
	req *Request  // owner, when a request
	res *Response // owner, when a response
}

// IsRequest reports whether m belongs to a Request.
func (m *Message) IsRequest() bool { return m.req != nil }

// AsRequest returns the Request m belongs to, or nil.
func (m *Message) AsRequest() *Request { return m.req }

// AsResponse returns the Response m belongs to, or nil.
func (m *Message) AsResponse() *Response { return m.res }

// Complete reports whether the message was captured whole: not
// incomplete and without gaps.
func (m *Message) Complete() bool { return m.Flags&(FlagIncomplete|FlagGap) == 0 }

// Host returns the Host header's value (nil when absent); likewise the
// other common headers below. They are lookups in Header.
func (m *Message) Host() []byte { return m.Header.Get("Host") }

// UserAgent returns the User-Agent header's value.
func (m *Message) UserAgent() []byte { return m.Header.Get("User-Agent") }

// Referer returns the Referer header's value.
func (m *Message) Referer() []byte { return m.Header.Get("Referer") }

// ContentType returns the Content-Type header's value.
func (m *Message) ContentType() []byte { return m.Header.Get("Content-Type") }

// ContentEncoding returns the Content-Encoding header's value (the body is
// delivered as sent, not decoded).
func (m *Message) ContentEncoding() []byte { return m.Header.Get("Content-Encoding") }

// Upgrade returns the Upgrade header's value.
func (m *Message) Upgrade() []byte { return m.Header.Get("Upgrade") }

func (m *Message) reset() {
	h, t := m.Header, m.Trailer
	h.reset()
	t.reset()
	req, res := m.req, m.res
	*m = Message{Header: h, Trailer: t, ContentLength: -1, req: req, res: res}
}

func (m *Message) cloneInto(dst *Message) {
	req, res := dst.req, dst.res
	*dst = *m
	dst.req, dst.res = req, res
	dst.Header = m.Header.Clone()
	dst.Trailer = m.Trailer.Clone()
}

// Request is an HTTP request.
type Request struct {
	Message
	// Method is the request method ("GET", ...), URI the request target as
	// sent.
	Method string
	URI    string

	queued      bool      // in the connection's pipeline queue
	placeholder bool      // the queue was full: not paired
	answered    bool      // taken out of the queue by its response
	done        bool      // Request callback made
	held        *Response // its response, completed before the request was
}

func newRequest() *Request {
	r := &Request{}
	r.req = r
	r.ContentLength = -1
	return r
}

func (r *Request) reset() {
	r.Message.reset()
	r.Method, r.URI = "", ""
	r.queued, r.placeholder, r.answered, r.done, r.held = false, false, false, false, nil
}

// Clone returns a deep copy that stays valid after the callback.
func (r *Request) Clone() *Request {
	n := newRequest()
	r.Message.cloneInto(&n.Message)
	n.Method, n.URI, n.done = r.Method, r.URI, true
	return n
}

// Response is an HTTP response.
type Response struct {
	Message
	// StatusCode is the status (404), Reason the reason phrase
	// ("Not Found").
	StatusCode int
	Reason     string
	// Interim is the status code of the last 1xx interim response (e.g.
	// 100 Continue) that preceded this one for the same request, or 0.
	Interim int

	paired  bool     // pairing with a request was decided
	pairReq *Request // the request it answers (nil: orphan)
}

func newResponse() *Response {
	r := &Response{}
	r.res = r
	r.ContentLength = -1
	return r
}

func (r *Response) reset() {
	r.Message.reset()
	r.StatusCode, r.Reason, r.Interim = 0, "", 0
	r.paired, r.pairReq = false, nil
}

// Clone returns a deep copy that stays valid after the callback (without
// its pairing: the clone's Request() is nil).
func (r *Response) Clone() *Response {
	n := newResponse()
	r.Message.cloneInto(&n.Message)
	n.StatusCode, n.Reason, n.Interim = r.StatusCode, r.Reason, r.Interim
	n.paired = true
	return n
}

// Request returns the request this response answers, once known (from the
// end of its header block), or nil.
func (r *Response) Request() *Request { return r.pairReq }

// Interim1xx reports whether the response is an interim (1xx, not 101)
// response.
func (r *Response) Interim1xx() bool { return isInterim(r.StatusCode) }

func isInterim(code int) bool { return code >= 100 && code < 200 && code != 101 }

// Header is a list of header fields kept in one byte buffer. Names keep
// their case as sent; values are trimmed of surrounding whitespace and
// obsolete line folding is replaced by a space. Lookups are
// case-insensitive. The slices it returns are valid as long as the
// Message is.
type Header struct {
	raw []byte
	f   []field
}

// field is one header: name raw[ns:vs], value raw[vs:ve].
type field struct{ ns, vs, ve uint32 }

func (h *Header) reset() {
	h.raw = h.raw[:0]
	h.f = h.f[:0]
}

func (h *Header) add(name, value []byte) {
	ns := uint32(len(h.raw))
	h.raw = append(h.raw, name...)
	vs := uint32(len(h.raw))
	h.raw = append(h.raw, value...)
	h.f = append(h.f, field{ns, vs, uint32(len(h.raw))})
}

// fold appends a continuation line to the last field's value.
func (h *Header) fold(cont []byte) {
	if len(h.f) == 0 {
		return
	}
	last := &h.f[len(h.f)-1]
	if last.ve != uint32(len(h.raw)) {
		return
	}
	if len(cont) > 0 {
		if last.ve > last.vs {
			h.raw = append(h.raw, ' ')
		}
		h.raw = append(h.raw, cont...)
	}
	last.ve = uint32(len(h.raw))
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.f) }

// At returns the i-th field, in wire order.
func (h *Header) At(i int) (name, value []byte) {
	f := h.f[i]
	return h.raw[f.ns:f.vs:f.vs], h.raw[f.vs:f.ve:f.ve]
}

// Get returns the value of the first field called name (any case), or nil
// when there is none. An empty field has a non-nil empty value.
func (h *Header) Get(name string) []byte {
	for _, f := range h.f {
		if equalFold(h.raw[f.ns:f.vs], name) {
			return h.raw[f.vs:f.ve:f.ve]
		}
	}
	return nil
}

// Has reports whether a field called name is present.
func (h *Header) Has(name string) bool { return h.Get(name) != nil }

// Value returns Get(name) as a string ("" when absent).
func (h *Header) Value(name string) string { return string(h.Get(name)) }

// Values calls fn for the value of every field called name, in order.
func (h *Header) Values(name string, fn func(value []byte)) {
	for _, f := range h.f {
		if equalFold(h.raw[f.ns:f.vs], name) {
			fn(h.raw[f.vs:f.ve:f.ve])
		}
	}
}

// Clone returns a copy that owns its bytes.
func (h *Header) Clone() Header {
	if len(h.f) == 0 {
		return Header{}
	}
	return Header{raw: append([]byte(nil), h.raw...), f: append([]field(nil), h.f...)}
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			return false
		}
	}
	return true
}
