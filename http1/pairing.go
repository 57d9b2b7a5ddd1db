package http1

import "github.com/fastsniff/fastsniff/reassembly"

// interimDone delivers a 1xx interim response.
func (p *Parser) interimDone(s *ConnState, ds *dirState) {
	r := ds.rs
	ds.rs = nil
	ds.st = stStart
	req := s.head()
	r.paired, r.pairReq = true, req
	if req != nil {
		r.Depth = req.Depth
	} else {
		r.Depth = ds.nres + 1
	}
	p.stats.Interim++
	ds.interim = r.StatusCode
	if p.hdrs != nil && r.Flags&FlagIncomplete == 0 {
		p.hdrs.Headers(&r.Message, p.c)
	}
	if p.interim != nil {
		p.interim.Interim(r, req, p.c)
	}
	p.putRes(r)
}

// pair decides which request a final response answers.
func (p *Parser) pair(s *ConnState, ds *dirState, r *Response) *Request {
	ds.nres++
	r.paired = true
	r.Interim, ds.interim = ds.interim, 0
	req := p.dequeue(s)
	if req != nil {
		r.pairReq = req
		r.Depth = req.Depth
	} else {
		r.Depth = ds.nres
	}
	return req
}

func (s *ConnState) head() *Request {
	if s.qn == 0 {
		return nil
	}
	return s.q[s.qh]
}

func (p *Parser) enqueue(s *ConnState, r *Request) {
	if r.queued || r.placeholder || r.answered {
		return
	}
	if s.q == nil {
		s.q = make([]*Request, p.cfg.MaxPipeline)
	}
	if s.over > 0 || s.qn == len(s.q) {
		r.placeholder = true
		r.Flags |= FlagOverflow
		s.over++
		p.stats.Overflows++
		return
	}
	s.q[(s.qh+s.qn)%len(s.q)] = r
	s.qn++
	r.queued = true
}

func (p *Parser) dequeue(s *ConnState) *Request {
	if s.qn == 0 {
		if s.over > 0 {
			s.over--
		}
		return nil
	}
	r := s.q[s.qh]
	s.q[s.qh] = nil
	s.qh = (s.qh + 1) % len(s.q)
	s.qn--
	r.queued, r.answered = false, true
	return r
}

// finish ends ds's message.
func (p *Parser) finish(s *ConnState, ds *dirState, incomplete bool) {
	if ds.rq != nil {
		p.finishReq(s, ds, incomplete)
	} else if ds.rs != nil {
		p.finishRes(s, ds, incomplete)
	}
}

// abort ends ds's message, if any, as incomplete.
func (p *Parser) abort(s *ConnState, ds *dirState) { p.finish(s, ds, true) }

func (p *Parser) finishReq(s *ConnState, ds *dirState, incomplete bool) {
	r := ds.rq
	ds.rq = nil
	ds.st = stStart
	if incomplete {
		r.Flags |= FlagIncomplete
		p.stats.Incomplete++
	}
	p.enqueue(s, r)
	r.done = true
	p.stats.Requests++
	hold := !incomplete && r.queued && (r.Method == "CONNECT" || r.hf&hfUpgrade != 0)
	p.cb.Request(r, p.c)
	switch {
	case r.held != nil:
		res := r.held
		r.held = nil
		p.deliver(s, res, r)
	case r.placeholder:
		p.noResponse(s, r)
	case hold:
		ds.st = stHold
		ds.hold = ds.hold[:0]
		s.holdFor = r
	}
}

func (p *Parser) finishRes(s *ConnState, ds *dirState, incomplete bool) {
	r := ds.rs
	if incomplete {
		r.Flags |= FlagIncomplete
		p.stats.Incomplete++
	}
	if !r.paired {
		if isInterim(r.StatusCode) {
			p.interimDone(s, ds)
			return
		}
		p.pair(s, ds, r)
	}
	ds.rs = nil
	ds.st = stStart
	p.stats.Responses++
	if req := r.pairReq; req != nil && !req.done {
		req.held = r // delivered when the request is complete
		return
	}
	p.deliver(s, r, r.pairReq)
}

func (p *Parser) deliver(s *ConnState, res *Response, req *Request) {
	p.stats.Transactions++
	if req == nil {
		res.Flags |= FlagNoRequest
		p.stats.NoRequest++
	}
	if s.holdFor == req && req != nil {
		s.holdFor = nil
	}
	p.cb.Response(res, req, p.c)
	if req != nil {
		p.putReq(req)
	}
	p.putRes(res)
}

func (p *Parser) noResponse(s *ConnState, req *Request) {
	req.Flags |= FlagNoResponse
	p.stats.NoResponse++
	p.stats.Transactions++
	if s.holdFor == req {
		s.holdFor = nil
	}
	p.cb.Response(nil, req, p.c)
	p.putReq(req)
}

// releaseHold resumes parsing the client bytes held back after a CONNECT
// or Upgrade request that was not answered by a tunnel.
func (p *Parser) releaseHold(s *ConnState) {
	s.holdFor = nil
	cd := &s.d[reassembly.FromClient]
	if cd.st != stHold {
		return
	}
	cd.st = stStart
	buf := cd.hold
	cd.hold = nil
	ots := p.ts
	p.ts = cd.holdTS
	p.run(s, cd, int(reassembly.FromClient), buf)
	p.ts = ots
	if cd.hold == nil {
		cd.hold = buf[:0]
	}
}

// unhold stops holding client bytes (too many, or a gap follows them)
// before the answer came: they are scanned for requests, as after a loss of
// sync. A tunnel answer still turns the connection into a tunnel.
func (p *Parser) unhold(s *ConnState, ds *dirState) {
	buf := ds.hold
	ds.hold = nil
	p.lost(s, ds)
	ots := p.ts
	p.ts = ds.holdTS
	p.run(s, ds, int(reassembly.FromClient), buf)
	p.ts = ots
	if ds.hold == nil {
		ds.hold = buf[:0]
	}
}

func (p *Parser) startTunnel(s *ConnState) {
	s.mode = modeTunnel
	p.stats.Tunnels++
	cd := &s.d[reassembly.FromClient]
	if cd.st == stHold {
		p.tunnelBytes(s, int(reassembly.FromClient), len(cd.hold))
		cd.hold = cd.hold[:0]
	}
	s.holdFor = nil
}
