package tlstest

import (
	"bufio"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// mss is the largest TCP payload per packet written.
const mss = 1448

// WritePcap writes the recordings as one capture, connection after
// connection: connection i goes from 10.0.x.y:(10000+i%50000) to
// 10.1.0.1:443, starting one millisecond after the previous.
func WritePcap(w io.Writer, recs []*Recording) error { return write(w, recs, false) }

// WritePcapInterleaved writes the same packets with the connections
// interleaved, one segment (and its ACK) of each in turn, as concurrent
// connections look on a link: every handshake comes early.
func WritePcapInterleaved(w io.Writer, recs []*Recording) error { return write(w, recs, true) }

func write(w io.Writer, recs []*Recording, interleave bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	shared := time.Unix(1700000000, 0) // one clock when interleaved
	buf := gopacket.NewSerializeBuffer()
	steps := make([][]func() error, len(recs))
	for i, r := range recs {
		ts := &shared
		if !interleave {
			t := shared.Add(time.Duration(i) * time.Millisecond)
			ts = &t
		}
		c := &conn{
			pw: pw, buf: buf, ts: ts,
			ip:   [2]net.IP{net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), net.IPv4(10, 1, 0, 1).To4()},
			port: [2]uint16{uint16(10000 + i%50000), 443},
			seq:  [2]uint32{1000, 5000},
		}
		steps[i] = c.steps(r)
		if !interleave {
			for _, f := range steps[i] {
				if err := f(); err != nil {
					return err
				}
			}
		}
	}
	for k := 0; interleave; k++ {
		more := false
		for i := range steps {
			if k < len(steps[i]) {
				more = true
				if err := steps[i][k](); err != nil {
					return err
				}
			}
		}
		if !more {
			break
		}
	}
	return bw.Flush()
}

type conn struct {
	pw   *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	ts   *time.Time
	ip   [2]net.IP
	port [2]uint16
	seq  [2]uint32
}

// steps returns the connection's packets as steps of one or two packets
// (a segment and its ACK), in order.
func (c *conn) steps(r *Recording) []func() error {
	var st []func() error
	pkt := func(d int, syn, ack, fin bool, payload []byte, adv int) func() error {
		return func() error {
			err := c.packet(d, syn, ack, fin, payload)
			c.seq[d] += uint32(adv)
			return err
		}
	}
	// three-way handshake
	st = append(st, pkt(0, true, false, false, nil, 1), pkt(1, true, true, false, nil, 1), pkt(0, false, true, false, nil, 0))
	for _, ch := range r.Chunks {
		d := 0
		if ch.FromServer {
			d = 1
		}
		for b := ch.Bytes; len(b) > 0; {
			n := min(mss, len(b))
			data, ack := pkt(d, false, true, false, b[:n], n), pkt(1-d, false, true, false, nil, 0)
			st = append(st, func() error {
				if err := data(); err != nil {
					return err
				}
				return ack()
			})
			b = b[n:]
		}
	}
	return append(st, pkt(0, false, true, true, nil, 1), pkt(1, false, true, true, nil, 1), pkt(0, false, true, false, nil, 0))
}

func (c *conn) packet(d int, syn, ack, fin bool, payload []byte) error {
	*c.ts = c.ts.Add(10 * time.Microsecond)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(d + 1)}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(2 - d)}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: c.ip[d], DstIP: c.ip[1-d]}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(c.port[d]), DstPort: layers.TCPPort(c.port[1-d]), Seq: c.seq[d], SYN: syn, ACK: ack, FIN: fin, PSH: len(payload) > 0, Window: 65535}
	if ack {
		tcp.Ack = c.seq[1-d]
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return err
	}
	if err := gopacket.SerializeLayers(c.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		return err
	}
	b := c.buf.Bytes()
	return c.pw.WritePacket(gopacket.CaptureInfo{Timestamp: *c.ts, CaptureLength: len(b), Length: len(b)}, b)
}
