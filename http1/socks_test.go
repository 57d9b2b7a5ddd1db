package http1

import (
	"math/rand"
	"testing"

	"github.com/fastsniff/fastsniff/reassembly"
)

// TestSOCKS: HTTP inside a SOCKS4, SOCKS4a or SOCKS5 tunnel (with and
// without username/password) gives the same transactions as the same
// HTTP without the tunnel, however the bytes are cut; a stream that only
// starts like SOCKS is ignored.
func TestSOCKS(t *testing.T) {
	req := "GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n"
	res := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	plainSteps := []step{{reassembly.FromClient, bytesOf(req)}, {reassembly.FromServer, bytesOf(res)}}
	socks4 := string([]byte{4, 1, 0, 80, 93, 184, 216, 34}) + "user\x00"
	socks4a := string([]byte{4, 1, 0, 80, 0, 0, 0, 1}) + "\x00example.org\x00"
	socks4ok := string([]byte{0, 90, 0, 80, 93, 184, 216, 34})
	s5greet, s5choice := "\x05\x01\x00", "\x05\x00"
	s5greetAuth, s5choiceAuth := "\x05\x02\x00\x02", "\x05\x02"
	s5auth, s5authOK := "\x01\x04user\x04pass", "\x01\x00"
	s5req := "\x05\x01\x00\x03\x0bexample.org\x00\x50"
	s5reqV4 := "\x05\x01\x00\x01\x5d\xb8\xd8\x22\x00\x50"
	s5ok := "\x05\x00\x00\x01\x0a\x00\x00\x01\x1f\x90"
	tests := []struct {
		name  string
		steps []step
	}{
		{"socks4", []step{{reassembly.FromClient, bytesOf(socks4 + req)}, {reassembly.FromServer, bytesOf(socks4ok + res)}}},
		{"socks4a", []step{{reassembly.FromClient, bytesOf(socks4a)}, {reassembly.FromServer, bytesOf(socks4ok)}, {reassembly.FromClient, bytesOf(req)}, {reassembly.FromServer, bytesOf(res)}}},
		{"socks5", []step{
			{reassembly.FromClient, bytesOf(s5greet)}, {reassembly.FromServer, bytesOf(s5choice)},
			{reassembly.FromClient, bytesOf(s5req)}, {reassembly.FromServer, bytesOf(s5ok)},
			{reassembly.FromClient, bytesOf(req)}, {reassembly.FromServer, bytesOf(res)}}},
		{"socks5-auth", []step{
			{reassembly.FromClient, bytesOf(s5greetAuth)}, {reassembly.FromServer, bytesOf(s5choiceAuth)},
			{reassembly.FromClient, bytesOf(s5auth)}, {reassembly.FromServer, bytesOf(s5authOK)},
			{reassembly.FromClient, bytesOf(s5reqV4 + req)}, {reassembly.FromServer, bytesOf(s5ok + res)}}},
		// the client's handshake delivered whole before the server's
		{"socks5-client-first", []step{
			{reassembly.FromClient, bytesOf(s5greet + s5req + req)}, {reassembly.FromServer, bytesOf(s5choice + s5ok + res)}}},
	}
	rng := rand.New(rand.NewSource(1))
	for _, tc := range tests {
		for _, cut := range []struct {
			name string
			f    func() int
		}{{"whole", whole}, {"ones", ones}, {"random", randCut(rng)}} {
			t.Run(tc.name+"/"+cut.name, func(t *testing.T) {
				want := runSteps(t, Config{}, plainSteps, whole, reassembly.ReasonFIN)
				got := runSteps(t, Config{}, tc.steps, cut.f, reassembly.ReasonFIN)
				if len(want.events) == 0 {
					t.Fatal("no events for plain HTTP")
				}
				sameEvents(t, tc.name, got.events, want.events)
				if got.stats.Transactions != 1 || got.stats.NonHTTP != 0 {
					t.Errorf("stats %+v", got.stats)
				}
			})
		}
	}
	// not SOCKS after all: a bad SOCKS5 request, a SOCKS4 command 9
	for _, c := range []string{"\x05\x01\x00\x05\x01\x00\x09", "\x04\x09\x00\x50"} {
		got := runSteps(t, Config{}, []step{{reassembly.FromClient, bytesOf(c + req)}}, whole, reassembly.ReasonFIN)
		if got.stats.Transactions != 0 || got.stats.NonHTTP != 1 {
			t.Errorf("%q: stats %+v", c, got.stats)
		}
	}
}
