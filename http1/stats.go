package http1

// Stats are a Parser's counters. They only grow; the Stats of several
// workers' Parsers may be added together.
type Stats struct {
	Conns        uint64 // connections handed to the parser
	HTTPConns    uint64 // of which recognised as HTTP
	NonHTTP      uint64 // of which ignored as not HTTP
	Requests     uint64 // requests delivered (Request callbacks)
	Responses    uint64 // final responses parsed
	Interim      uint64 // 1xx interim responses (100 Continue, 103, ...)
	Transactions uint64 // Response callbacks: paired or not
	NoResponse   uint64 // requests left without a response at close
	NoRequest    uint64 // responses without a request (orphans)
	Incomplete   uint64 // messages delivered with FlagIncomplete
	Gaps         uint64 // capture gaps met in HTTP streams
	GapBytes     uint64 // bytes in those gaps
	Resyncs      uint64 // times the parser lost its place and looked for the next message start
	SkippedBytes uint64 // captured bytes skipped while resynchronising
	ParseErrors  uint64 // malformed lines, framing or start lines
	HeaderLimits uint64 // messages that hit a header limit (line, count, bytes)
	Overflows    uint64 // requests that found the pipeline queue full
	Tunnels      uint64 // connections turned into tunnels (CONNECT, Upgrade)
	TunnelBytes  uint64 // bytes seen in tunnels afterwards
	BodyBytes    uint64 // decoded body bytes delivered to the body sink
}

// Add adds o's counters to s.
func (s *Stats) Add(o *Stats) {
	s.Conns += o.Conns
	s.HTTPConns += o.HTTPConns
	s.NonHTTP += o.NonHTTP
	s.Requests += o.Requests
	s.Responses += o.Responses
	s.Interim += o.Interim
	s.Transactions += o.Transactions
	s.NoResponse += o.NoResponse
	s.NoRequest += o.NoRequest
	s.Incomplete += o.Incomplete
	s.Gaps += o.Gaps
	s.GapBytes += o.GapBytes
	s.Resyncs += o.Resyncs
	s.SkippedBytes += o.SkippedBytes
	s.ParseErrors += o.ParseErrors
	s.HeaderLimits += o.HeaderLimits
	s.Overflows += o.Overflows
	s.Tunnels += o.Tunnels
	s.TunnelBytes += o.TunnelBytes
	s.BodyBytes += o.BodyBytes
}
