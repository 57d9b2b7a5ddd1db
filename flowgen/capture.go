package flowgen

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Snaplen is the snap length written in pcap headers: every frame is
// captured whole.
const Snaplen = 262144

// Config returns the configuration the capture was made with, defaults
// filled in.
func (c *Capture) Config() Config { return c.cfg }

// Len returns the number of packets in the capture.
func (c *Capture) Len() int { return len(c.pkts) }

// Packet returns packet i (in capture order) with its own Payload.
func (c *Capture) Packet(i int) Packet {
	var p Packet
	c.fill(&p, i)
	return p
}

// All yields every packet in capture order. The *Packet and its Payload are
// reused between iterations: copy what you keep.
func (c *Capture) All() iter.Seq2[int, *Packet] {
	return func(yield func(int, *Packet) bool) {
		var p Packet
		for i := range c.pkts {
			c.fill(&p, i)
			if !yield(i, &p) {
				return
			}
		}
	}
}

// fill makes packet i in p, reusing p.Payload's array.
func (c *Capture) fill(p *Packet, i int) {
	q := &c.pkts[i]
	cn := &c.Conns[q.conn]
	buf := p.Payload[:0]
	if cap(buf) < int(q.n) {
		buf = make([]byte, q.n, max(int(q.n), 2048))
	}
	buf = buf[:q.n]
	if q.n > 0 {
		fillPayload(buf, cn.seed, int(q.dir), q.off, q.variant)
	}
	*p = Packet{
		TS: q.ts, VLAN: cn.VLAN, Seq: q.seq, Ack: q.ack, Flags: q.flags, Window: q.win,
		Payload: buf, Conn: int(q.conn), Dir: int(q.dir), Encap: c.cfg.Encap, EncapID: c.cfg.EncapID,
	}
	if q.dir == 0 {
		p.Src, p.Dst = cn.Client, cn.Server
	} else {
		p.Src, p.Dst = cn.Server, cn.Client
		if cn.RespVLANSet {
			p.VLAN = cn.RespVLAN
		}
	}
}

// WritePcapFile writes the capture to a new file at path (see WritePcap).
func (c *Capture) WritePcapFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.WritePcap(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WritePcap writes the capture as a pcap file (nanosecond timestamps,
// Ethernet link type, snap length Snaplen). Frames are built in one reused
// buffer, so memory stays flat however large the capture.
func (c *Capture) WritePcap(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	var frame []byte
	for _, p := range c.All() {
		frame = p.AppendFrame(frame[:0])
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: len(frame), Length: len(frame)}
		if err := pw.WritePacket(ci, frame); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// TruthConn is one line of the truth file written by WriteTruth.
type TruthConn struct {
	Conn        int          `json:"conn"`
	Client      string       `json:"client"`
	Server      string       `json:"server"`
	VLAN        uint16       `json:"vlan,omitempty"`
	IPv6        bool         `json:"ipv6,omitempty"`
	ISN         [2]uint32    `json:"isn"`
	Start       int64        `json:"start_ns"`
	End         int64        `json:"end_ns"`
	Packets     int          `json:"packets"`
	Midstream   bool         `json:"midstream,omitempty"`
	OneSided    bool         `json:"one_sided,omitempty"`
	Wrap        bool         `json:"wrap,omitempty"`
	Reused      bool         `json:"reused,omitempty"`
	EndsWith    string       `json:"ends"`
	RSTBy       *int         `json:"rst_by,omitempty"`
	Impairments Impairments  `json:"impairments"`
	Streams     [2]TruthSide `json:"streams"`
}

// TruthSide is one direction in a TruthConn.
type TruthSide struct {
	Dir    string `json:"dir"` // "c2s" or "s2c"
	SHA256 string `json:"sha256"`
	Bytes  uint64 `json:"bytes"` // delivered
	Total  uint64 `json:"total"` // delivered + gaps
	Gaps   []Gap  `json:"gaps,omitempty"`
	Unseen bool   `json:"unseen,omitempty"`
}

// Truth returns the truth line of connection i.
func (c *Capture) Truth(i int) TruthConn {
	cn := &c.Conns[i]
	t := TruthConn{
		Conn: i, Client: cn.Client.String(), Server: cn.Server.String(), VLAN: cn.VLAN,
		IPv6: cn.IPv6(), ISN: cn.ISN, Start: cn.Start, End: cn.End, Packets: cn.Packets,
		Midstream: cn.Midstream, OneSided: cn.OneSided, Wrap: cn.Wrap, Reused: cn.Reused,
		EndsWith: cn.EndsWith, Impairments: cn.Impairments,
	}
	if cn.EndsWith == EndRST {
		d := cn.RSTBy
		t.RSTBy = &d
	}
	for d := range t.Streams {
		st := &cn.Streams[d]
		t.Streams[d] = TruthSide{
			Dir: [2]string{"c2s", "s2c"}[d], SHA256: hex.EncodeToString(st.SHA256[:]),
			Bytes: st.Delivered, Total: st.Total, Gaps: st.Gaps, Unseen: st.Unseen,
		}
	}
	return t
}

// WriteTruth writes the truth as JSON lines, one TruthConn per connection
// in the order of Conns.
func (c *Capture) WriteTruth(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	for i := range c.Conns {
		if err := enc.Encode(c.Truth(i)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadTruth reads a file written by WriteTruth.
func ReadTruth(r io.Reader) ([]TruthConn, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	var out []TruthConn
	for {
		var t TruthConn
		err := dec.Decode(&t)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("flowgen: truth line %d: %w", len(out)+1, err)
		}
		if _, err := netip.ParseAddrPort(t.Client); err != nil {
			return out, fmt.Errorf("flowgen: truth line %d: %w", len(out)+1, err)
		}
		out = append(out, t)
	}
}
