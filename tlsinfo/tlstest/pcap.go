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
func WritePcap(w io.Writer, recs []*Recording) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := writePcap(bw, recs); err != nil {
		return err
	}
	return bw.Flush()
}

func writePcap(w io.Writer, recs []*Recording) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	ts := time.Unix(1700000000, 0)
	buf := gopacket.NewSerializeBuffer()
	for i, r := range recs {
		c := conn{
			pw: pw, buf: buf, ts: ts.Add(time.Duration(i) * time.Millisecond),
			ip:   [2]net.IP{net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), net.IPv4(10, 1, 0, 1).To4()},
			port: [2]uint16{uint16(10000 + i%50000), 443},
			seq:  [2]uint32{1000, 5000},
		}
		if err := c.write(r); err != nil {
			return err
		}
	}
	return nil
}

type conn struct {
	pw   *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	ts   time.Time
	ip   [2]net.IP
	port [2]uint16
	seq  [2]uint32
}

func (c *conn) write(r *Recording) error {
	// three-way handshake
	if err := c.packet(0, true, false, false, nil); err != nil {
		return err
	}
	c.seq[0]++
	if err := c.packet(1, true, true, false, nil); err != nil {
		return err
	}
	c.seq[1]++
	if err := c.packet(0, false, true, false, nil); err != nil {
		return err
	}
	for _, ch := range r.Chunks {
		d := 0
		if ch.FromServer {
			d = 1
		}
		for b := ch.Bytes; len(b) > 0; {
			n := min(mss, len(b))
			if err := c.packet(d, false, true, false, b[:n]); err != nil {
				return err
			}
			c.seq[d] += uint32(n)
			b = b[n:]
			if err := c.packet(1-d, false, true, false, nil); err != nil {
				return err
			}
		}
	}
	for d := range 2 {
		if err := c.packet(d, false, true, true, nil); err != nil {
			return err
		}
		c.seq[d]++
	}
	return c.packet(0, false, true, false, nil)
}

func (c *conn) packet(d int, syn, ack, fin bool, payload []byte) error {
	c.ts = c.ts.Add(10 * time.Microsecond)
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
	return c.pw.WritePacket(gopacket.CaptureInfo{Timestamp: c.ts, CaptureLength: len(b), Length: len(b)}, b)
}
