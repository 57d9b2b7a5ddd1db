package live

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapChunkSize is the size of one buffer of frames on their way to the
// pcap writer.
const pcapChunkSize = 1 << 20

// pcapRecHdr is a frame's header inside a chunk: ts, captured length,
// wire length.
const pcapRecHdr = 16

// pcapChunk holds frames, each pcapRecHdr bytes of header then the data.
type pcapChunk struct {
	buf []byte
	n   uint64 // frames
}

// pcapWriter writes frames from the workers to one pcap file. Workers copy
// frames into chunks taken from free and queue full chunks; they never
// wait: without a free chunk the frame is dropped (counted). The writer
// goroutine writes the chunks and hands them back.
type pcapWriter struct {
	bw      *bufio.Writer
	w       *pcapgo.Writer
	q       chan *pcapChunk
	free    chan *pcapChunk
	done    chan struct{}
	warn    func(error)
	written atomic.Uint64
	dropped atomic.Uint64
	err     error
}

func newPcapWriter(out io.Writer, snaplen uint32, link decode.LinkType, chunks int, warn func(error)) (*pcapWriter, error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	p := &pcapWriter{
		bw:   bw,
		w:    pcapgo.NewWriterNanos(bw),
		q:    make(chan *pcapChunk, chunks),
		free: make(chan *pcapChunk, chunks),
		done: make(chan struct{}),
		warn: warn,
	}
	if err := p.w.WriteFileHeader(snaplen, layers.LinkType(link)); err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	for i := 0; i < chunks; i++ {
		p.free <- &pcapChunk{buf: make([]byte, 0, pcapChunkSize)}
	}
	go p.loop()
	return p, nil
}

func (p *pcapWriter) loop() {
	defer close(p.done)
	ne := binary.NativeEndian
	for c := range p.q {
		b := c.buf
		for len(b) >= pcapRecHdr && p.err == nil {
			ts := int64(ne.Uint64(b))
			capLen := int(ne.Uint32(b[8:]))
			wireLen := int(ne.Uint32(b[12:]))
			data := b[pcapRecHdr : pcapRecHdr+capLen]
			b = b[pcapRecHdr+capLen:]
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: capLen, Length: wireLen}
			if err := p.w.WritePacket(ci, data); err != nil {
				p.err = err
				if p.warn != nil {
					p.warn(fmt.Errorf("pcap: %w (no more frames are written)", err))
				}
			}
		}
		if p.err == nil {
			p.written.Add(c.n)
		} else {
			p.dropped.Add(c.n)
		}
		c.buf, c.n = c.buf[:0], 0
		p.free <- c
		if len(p.q) == 0 {
			p.flush() // caught up: let readers of the file see it
		}
	}
	p.flush()
}

func (p *pcapWriter) flush() {
	if p.err != nil {
		return
	}
	if err := p.bw.Flush(); err != nil {
		p.err = err
		if p.warn != nil {
			p.warn(fmt.Errorf("pcap: %w (no more frames are written)", err))
		}
	}
}

// close waits for the queued frames to be written. Workers must be done.
func (p *pcapWriter) close() {
	close(p.q)
	<-p.done
}

// writePcap copies f into the worker's chunk, putting a stripped VLAN tag
// back in front of the ethertype.
func (lw *lworker) writePcap(f *afpacket.Frame) {
	tci, tpid, tagged := f.VLAN()
	tagged = tagged && lw.link == decode.LinkEthernet && len(f.Data) >= 12
	size := pcapRecHdr + len(f.Data)
	if tagged {
		size += 4
	}
	c := lw.pcapBuf
	if c != nil && len(c.buf)+size > cap(c.buf) {
		lw.sendPcap()
		c = nil
	}
	if c == nil {
		select {
		case c = <-lw.pcap.free:
			lw.pcapBuf = c
		default:
			lw.pcap.dropped.Add(1)
			return
		}
		if size > cap(c.buf) {
			lw.pcap.dropped.Add(1)
			return
		}
	}
	ne := binary.NativeEndian
	b := c.buf
	b = ne.AppendUint64(b, uint64(f.TS))
	wire := max(f.Len, len(f.Data))
	if tagged {
		b = ne.AppendUint32(b, uint32(len(f.Data)+4))
		b = ne.AppendUint32(b, uint32(wire+4))
		b = append(b, f.Data[:12]...)
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci)
		b = append(b, f.Data[12:]...)
	} else {
		b = ne.AppendUint32(b, uint32(len(f.Data)))
		b = ne.AppendUint32(b, uint32(wire))
		b = append(b, f.Data...)
	}
	c.buf = b
	c.n++
}

// sendPcap queues the worker's chunk, if it holds frames. The queue holds
// every chunk there is, so this never waits.
func (lw *lworker) sendPcap() {
	c := lw.pcapBuf
	if c == nil || c.n == 0 {
		return
	}
	lw.pcapBuf = nil
	lw.pcap.q <- c
}
