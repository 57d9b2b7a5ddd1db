// Package http1 rebuilds HTTP/1.0 and HTTP/1.1 transactions from the two
// byte streams of TCP connections, as handed over by package reassembly:
// what Perl's Sniffer::HTTP did, incrementally and with bounded memory.
//
// A Parser holds the callbacks, limits, pools and counters of one worker;
// a ConnState holds one connection's state (two direction parsers and the
// queue of requests waiting for responses). Handler plugs a Parser into a
// reassembly.Table, keeping the ConnState in Conn.Ctx; a composite handler
// can instead keep the ConnState in its own slot and call
// Parser.NewConnState, Parser.Feed and Parser.Close.
//
// # Messages
//
// Start lines and headers are parsed as they arrive; a line split across
// Data calls is buffered (at most Config.MaxLineLen bytes), a whole one is
// parsed in place. Header fields are copied into one buffer per message.
// Bodies are never held: they are framed by Transfer-Encoding: chunked
// (extensions ignored, trailers kept in Message.Trailer), Content-Length or
// the connection's close (responses only), and streamed to an optional
// BodySink as borrowed slices, so a body byte costs no allocation. A
// response to HEAD, a 1xx, 204 or 304 response has no body whatever its
// headers say. Request and Response objects are pooled: they are valid
// until the transaction's Response callback returns.
//
// # Pairing
//
// Requests wait in a FIFO queue (Config.MaxPipeline) from the end of their
// header block; each final response takes the oldest, so pipelined
// transactions pair in order. Interim 1xx responses (100 Continue, 103)
// do not take a request: they go to an optional InterimSink and show as
// Response.Interim. A response completed before its request (a server
// answering early) is held until the request completes, so Request always
// comes before Response for the same transaction. At close, requests
// still waiting get Response(nil, req) with FlagNoResponse; a response
// with no request waiting is delivered with req == nil and FlagNoRequest.
//
// # Tunnels
//
// A 2xx answer to CONNECT and a 101 Switching Protocols end HTTP on the
// connection: both directions are then only counted (Stats.TunnelBytes,
// ConnState.TunnelBytes). Client bytes that follow a CONNECT or Upgrade
// request are held (Config.MaxHold) until the answer: a tunnel answer
// counts them as tunnel bytes, any other answer parses them as requests.
//
// # Detection
//
// HTTP is recognised by content, not port. On a connection seen from its
// start, the first line of either direction must be a request line with a
// known method (GET, POST, WebDAV methods, ...) or a status line
// ("HTTP/1.x NNN"): anything else makes the connection ignored at once,
// usually on its first byte. A connection picked up midstream (or starting
// with a gap) is scanned for a start line for up to Config.MaxSniff bytes.
// A client that opens with a SOCKS4/4a/5 handshake is a SOCKS tunnel: the
// handshake of each direction is skipped and HTTP is looked for after it
// (socks.go).
//
// # Gaps and resynchronisation
//
// A gap (Data.Gap > 0) inside a body of known length (Content-Length, or
// within a chunk) is skipped: the message gets FlagGap and GapLen, and
// parsing goes on. A gap anywhere else (start line, headers, chunk-size
// line, trailers, beyond the end of a body) loses the parser's place: the
// message in progress is delivered with FlagIncomplete and the direction
// resynchronises at the next plausible message start: a known method, a
// space, a target, " HTTP/1.x" and a line end for requests, "HTTP/1.x NNN"
// and a line end for responses. Malformed start lines, chunk sizes and
// header blocks over Config.MaxHeaderBytes do the same. The message found
// gets FlagResynced; Stats count resyncs and skipped bytes. A
// close-delimited body just skips the gap.
//
// # Limits
//
// Per connection the parser holds at most two partial lines, one header
// block per direction (MaxHeaderBytes), MaxPipeline waiting requests and
// MaxHold held bytes. An over-long header line is dropped, fields past
// MaxHeaders are parsed for framing but not kept (FlagHeaderLimit,
// Stats.HeaderLimits). Content codings (gzip, ...) are not decoded.
package http1
