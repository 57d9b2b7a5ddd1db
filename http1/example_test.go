package http1_test

import (
	"fmt"

	"github.com/fastsniff/fastsniff/http1"
	"github.com/fastsniff/fastsniff/reassembly"
)

// A Handler plugged where a reassembly.Table would call it: one
// keep-alive connection with a chunked response, a 304 and a request the
// server never answered.
func Example() {
	bodyBytes := 0
	h := http1.NewHandler(http1.Config{}, http1.Funcs{
		OnBody: func(m *http1.Message, chunk []byte, c *reassembly.Conn) {
			bodyBytes += len(chunk) // chunk is borrowed: copy to keep
		},
		OnResponse: func(res *http1.Response, req *http1.Request, c *reassembly.Conn) {
			if res == nil {
				fmt.Printf("#%d %s %s -> no response (%v)\n", req.Depth, req.Method, req.URI, req.Flags)
				return
			}
			fmt.Printf("#%d %s %s host=%s -> %d %s, %d body bytes (%d on the wire), type %q\n",
				req.Depth, req.Method, req.URI, req.Header.Get("Host"),
				res.StatusCode, res.Reason, res.BodyLen, res.WireLen, res.Header.Get("content-type"))
		},
	})

	c := &reassembly.Conn{}
	h.Opened(c)
	h.Sent(c, reassembly.Data{Bytes: []byte(
		"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n" +
			"GET /logo.png HTTP/1.1\r\nHost: example.com\r\nIf-None-Match: \"abc\"\r\n\r\n" +
			"GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n")})
	h.Received(c, reassembly.Data{Bytes: []byte(
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"7\r\n<html>\n\r\n8\r\n</html>\n\r\n0\r\n\r\n" +
			"HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n\r\n")})
	h.Closed(c, reassembly.ReasonFIN)

	st := h.Stats()
	fmt.Printf("transactions=%d requests=%d responses=%d no-response=%d body=%d\n",
		st.Transactions, st.Requests, st.Responses, st.NoResponse, bodyBytes)
	// Output:
	// #1 GET /index.html host=example.com -> 200 OK, 15 body bytes (30 on the wire), type "text/html"
	// #2 GET /logo.png host=example.com -> 304 Not Modified, 0 body bytes (0 on the wire), type ""
	// #3 GET /slow -> no response (no-response)
	// transactions=3 requests=3 responses=2 no-response=1 body=15
}
