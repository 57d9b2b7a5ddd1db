// Package segtest builds hand-made TCP conversations for the tests of the
// output packages: each call feeds one segment to a reassembly.Table.
package segtest

import (
	"net/netip"

	"github.com/fastsniff/fastsniff/reassembly"
)

// Conv is one TCP conversation between Client and Server. The zero ISNs
// are fine; TS starts at Start and advances by Step per segment.
type Conv struct {
	T              *reassembly.Table
	Client, Server netip.AddrPort
	VLANs          reassembly.VLANs
	Tunnel         uint32         // Segment.Tunnel of every segment
	CSeq, SSeq     reassembly.Seq // next sequence number of each side
	TS             int64          // timestamp of the next segment
	Step           int64          // ns between segments (default 1ms)
	Window         uint16         // advertised window (default 65535)
}

// Flag shorthands.
const (
	SYN = reassembly.SYN
	ACK = reassembly.ACK
	FIN = reassembly.FIN
	RST = reassembly.RST
	PSH = reassembly.PSH
)

func (c *Conv) send(fromClient bool, f reassembly.Flags, payload []byte) {
	var s reassembly.Segment
	src, dst := c.Client, c.Server
	seq, ack := &c.CSeq, c.SSeq
	if !fromClient {
		src, dst = dst, src
		seq, ack = &c.SSeq, c.CSeq
	}
	s.SetAddrs(src.Addr(), dst.Addr())
	s.SrcPort, s.DstPort = src.Port(), dst.Port()
	s.VLANs = c.VLANs
	s.Tunnel = c.Tunnel
	s.TS = c.TS
	s.Seq = *seq
	if f&ACK != 0 {
		s.Ack = ack
	}
	s.Flags = f
	s.Window = c.Window
	if s.Window == 0 {
		s.Window = 65535
	}
	s.WScale = -1
	s.Payload = payload
	c.T.Feed(&s)
	*seq = seq.Add(len(payload))
	if f&(SYN|FIN) != 0 {
		*seq = seq.Add(1)
	}
	step := c.Step
	if step == 0 {
		step = 1e6
	}
	c.TS += step
}

// C sends a segment from the client (ACKing everything the server sent).
func (c *Conv) C(f reassembly.Flags, payload string) { c.send(true, f, []byte(payload)) }

// S sends a segment from the server.
func (c *Conv) S(f reassembly.Flags, payload string) { c.send(false, f, []byte(payload)) }

// CB and SB are C and S with a byte slice.
func (c *Conv) CB(f reassembly.Flags, payload []byte) { c.send(true, f, payload) }

// SB is S with a byte slice.
func (c *Conv) SB(f reassembly.Flags, payload []byte) { c.send(false, f, payload) }

// LoseC skips n bytes of the client's stream (a segment never captured).
func (c *Conv) LoseC(n int) { c.CSeq = c.CSeq.Add(n) }

// LoseS skips n bytes of the server's stream.
func (c *Conv) LoseS(n int) { c.SSeq = c.SSeq.Add(n) }

// Handshake sends SYN, SYN+ACK, ACK.
func (c *Conv) Handshake() {
	c.C(SYN, "")
	c.S(SYN|ACK, "")
	c.C(ACK, "")
}

// Close sends FIN+ACK from the client, FIN+ACK from the server and the
// client's last ACK.
func (c *Conv) Close() {
	c.C(FIN|ACK, "")
	c.S(FIN|ACK, "")
	c.C(ACK, "")
}
