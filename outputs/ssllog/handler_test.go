package ssllog

import (
	"crypto/tls"
	"io"
	"reflect"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/fastsniff/fastsniff/tlsinfo"
	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// TestHandlerAllocs: a connection's handshake, its bypassed data and its
// line cost no allocation once the Handler's states and buffers exist.
func TestHandlerAllocs(t *testing.T) {
	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		t.Fatal(err)
	}
	ccfg := &tls.Config{ServerName: "server.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
	scfg := &tls.Config{Certificates: []tls.Certificate{srv}, MaxVersion: tls.VersionTLS12}
	r, err := tlstest.Exchange(ccfg, scfg, []byte("GET / HTTP/1.1\r\n\r\n"), 20000)
	if err != nil {
		t.Fatal(err)
	}
	for _, bypass := range []bool{true, false} {
		log := New(io.Discard, Options{Bypass: bypass, BufferSize: 1 << 20, FlushInterval: -1})
		h := log.Handler(nil)
		c := &reassembly.Conn{}
		one := func() {
			h.Opened(c)
			var off [2]uint64
			for _, ch := range r.Chunks {
				for b := ch.Bytes; len(b) > 0; {
					n := min(1448, len(b))
					d := reassembly.Data{Bytes: b[:n], Offset: 0, TS: 1}
					if ch.FromServer {
						d.Offset = off[1]
						h.Received(c, d)
						off[1] += uint64(n)
					} else {
						d.Offset = off[0]
						h.Sent(c, d)
						off[0] += uint64(n)
					}
					b = b[n:]
				}
			}
			h.Closed(c, reassembly.ReasonFIN)
		}
		one()
		if n := testing.AllocsPerRun(20, one); n != 0 {
			t.Errorf("bypass %v: %v allocations per connection", bypass, n)
		}
		h.Flush()
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
		st := log.Stats()
		if st.Logged != 22 || st.TLS.Established != 22 || bypass != (st.Bypassed == 22 && st.BypassedBytes >= 22*20000) {
			t.Errorf("bypass %v: stats %+v", bypass, st)
		}
	}
}

// TestStateReleased: a connection keeps the parser's state only while its
// handshake is read: not after its line, not once it is found not TLS.
func TestStateReleased(t *testing.T) {
	log := New(io.Discard, Options{Bypass: true})
	h := log.Handler(nil)
	defer log.Close()
	c := &reassembly.Conn{}
	h.Opened(c)
	h.Sent(c, reassembly.Data{Bytes: []byte("GET / HTTP/1.1\r\n\r\n")})
	h.Received(c, reassembly.Data{Bytes: []byte("HTTP/1.1 200 OK\r\n\r\n")})
	if cs := c.Ctx.(*conn); cs.tls == nil {
		t.Fatal("released while the preludes are still scanned")
	}
	// past the prelude scan of both directions: not TLS
	junk := make([]byte, 9000)
	h.Sent(c, reassembly.Data{Bytes: junk, Offset: 18})
	h.Received(c, reassembly.Data{Bytes: junk, Offset: 19})
	if cs := c.Ctx.(*conn); cs.tls != nil {
		t.Error("a connection found not TLS keeps its parser state")
	}
	h.Closed(c, reassembly.ReasonFIN)

	srv, err := tlstest.SelfSigned("server.test")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tlstest.Exchange(&tls.Config{InsecureSkipVerify: true}, &tls.Config{Certificates: []tls.Certificate{srv}}, []byte("x"), 10)
	if err != nil {
		t.Fatal(err)
	}
	c = &reassembly.Conn{}
	h.Opened(c)
	for _, ch := range r.Chunks {
		if ch.FromServer {
			h.Received(c, reassembly.Data{Bytes: ch.Bytes})
		} else {
			h.Sent(c, reassembly.Data{Bytes: ch.Bytes})
		}
	}
	if cs := c.Ctx.(*conn); cs.tls != nil || !cs.logged || !cs.bypassed {
		t.Errorf("after the handshake: state kept %v, logged %v, bypassed %v", cs.tls != nil, cs.logged, cs.bypassed)
	}
	h.Closed(c, reassembly.ReasonFIN)
}

// TestInfoIsPlainData: lines carry tlsinfo.Info to the writer as raw
// bytes, which is only sound while it holds no pointer (no slice, string,
// map or interface).
func TestInfoIsPlainData(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Array:
			return walk(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if !walk(ty.Field(i).Type) {
					t.Errorf("field %s of %s", ty.Field(i).Name, ty)
					return false
				}
			}
			return true
		}
		return ty.Kind() <= reflect.Complex128 // bool and numbers
	}
	walk(reflect.TypeOf(tlsinfo.Info{}))
}
