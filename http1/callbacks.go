package http1

import "github.com/fastsniff/fastsniff/reassembly"

// Callbacks receive a connection's transactions.
//
// Request is called once per request, when it is complete (its body
// included) or given up. Response is called once per transaction, after
// the Request callback of its request: res == nil means the request got no
// response before the connection closed (FlagNoResponse), req == nil that
// the response has no request (FlagNoRequest). Both objects belong to the
// parser and are recycled when the Response callback returns: Clone what
// you keep.
//
// A Callbacks value may also implement BodySink, HeaderSink and
// InterimSink.
type Callbacks interface {
	Request(req *Request, c *reassembly.Conn)
	Response(res *Response, req *Request, c *reassembly.Conn)
}

// BodySink receives decoded body bytes (chunk framing removed, content
// codings untouched) as they arrive, in order. chunk is borrowed for the
// call. Bytes lost in gaps are not delivered: m.GapLen grows instead.
type BodySink interface {
	Body(m *Message, chunk []byte, c *reassembly.Conn)
}

// HeaderSink is told when a message's header block is complete, before any
// of its body. For a response, m.AsResponse().Request() is its request.
type HeaderSink interface {
	Headers(m *Message, c *reassembly.Conn)
}

// InterimSink receives 1xx interim responses (100 Continue, 102, 103; not
// 101), which otherwise only show as Response.Interim on the final one.
type InterimSink interface {
	Interim(res *Response, req *Request, c *reassembly.Conn)
}

// Funcs adapts plain functions to Callbacks and the optional sinks; nil
// fields are skipped.
type Funcs struct {
	OnRequest  func(req *Request, c *reassembly.Conn)
	OnResponse func(res *Response, req *Request, c *reassembly.Conn)
	OnHeaders  func(m *Message, c *reassembly.Conn)
	OnBody     func(m *Message, chunk []byte, c *reassembly.Conn)
	OnInterim  func(res *Response, req *Request, c *reassembly.Conn)
}

// Request implements Callbacks.
func (f Funcs) Request(req *Request, c *reassembly.Conn) {
	if f.OnRequest != nil {
		f.OnRequest(req, c)
	}
}

// Response implements Callbacks.
func (f Funcs) Response(res *Response, req *Request, c *reassembly.Conn) {
	if f.OnResponse != nil {
		f.OnResponse(res, req, c)
	}
}

// Headers implements HeaderSink.
func (f Funcs) Headers(m *Message, c *reassembly.Conn) {
	if f.OnHeaders != nil {
		f.OnHeaders(m, c)
	}
}

// Body implements BodySink.
func (f Funcs) Body(m *Message, chunk []byte, c *reassembly.Conn) {
	if f.OnBody != nil {
		f.OnBody(m, chunk, c)
	}
}

// Interim implements InterimSink.
func (f Funcs) Interim(res *Response, req *Request, c *reassembly.Conn) {
	if f.OnInterim != nil {
		f.OnInterim(res, req, c)
	}
}
