package tlstest

import (
	"net"
	"sync"
)

// Proxy relays one TCP connection on loopback to a target and records
// what each side sent: a way to capture the bytes of TLS stacks other
// than Go's (openssl s_client and s_server) without a capture device.
type Proxy struct {
	ln     net.Listener
	target string
	rec    recorder
	done   chan error
}

// NewProxy listens on 127.0.0.1 and relays the first connection to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, done: make(chan error, 1)}
	go p.run()
	return p, nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) run() {
	defer p.ln.Close()
	c, err := p.ln.Accept()
	if err != nil {
		p.done <- err
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		p.done <- err
		return
	}
	var wg sync.WaitGroup
	relay := func(src, dst net.Conn, server bool) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.rec.mu.Lock()
				p.rec.chunks = append(p.rec.chunks, Chunk{server, append([]byte(nil), buf[:n]...)})
				p.rec.mu.Unlock()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	wg.Add(2)
	go relay(c, s, false)
	go relay(s, c, true)
	wg.Wait()
	c.Close()
	s.Close()
	p.done <- nil
}

// Wait waits for the relayed connection to end (or the proxy to fail) and
// returns what was recorded (State is left empty).
func (p *Proxy) Wait() (*Recording, error) {
	err := <-p.done
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	return &Recording{Chunks: p.rec.chunks}, err
}

// Close stops a proxy that has not accepted yet.
func (p *Proxy) Close() { p.ln.Close() }
