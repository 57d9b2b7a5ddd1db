// Command flowsplit splits a capture into N pcap files by fastsniff's flow
// hash: part K holds the packets of exactly the connections that
// `fastsniff --workers N` gives worker K, both directions, in file order,
// with their own timestamps. Running N fastsniff processes with one worker
// each on the parts is the ideal that N workers in one process are
// measured against (scripts/bench-offline): no packet is read, decoded or
// looked at twice, and nothing is shared between the processes.
//
//	flowsplit -n 2 -o /tmp/part capture.pcap   # /tmp/part-0.pcap, /tmp/part-1.pcap
//
// Packets that are not TCP, cannot be decoded or are IP fragments still
// waiting for the rest of their datagram have no flow hash: they go to
// every part, as every worker's reader sees them. The fragment that
// completes a datagram goes to its flow's part only, which then rebuilds
// the datagram; in the other parts its fragments stay incomplete.
//
// The parts are nanosecond pcap files with the link type of the first
// packet; a capture of mixed link types is refused. Their snap length is
// 262144 (tcpdump's), or the longest record's when one is longer (a
// capture taken with a larger snap length), so that every record of a
// part is readable. On an error the parts written so far are removed: a
// part is whole or absent.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "flowsplit:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("flowsplit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 2, "number of parts (the fastsniff --workers to mirror)")
	prefix := fs.String("o", "", "write PREFIX-0.pcap ... PREFIX-(N-1).pcap (required)")
	noVLAN := fs.Bool("no-vlan-key", false, "leave VLAN ids out of the flow key (as fastsniff --no-vlan-key)")
	noJoin := fs.Bool("no-vlan-join", false, "as fastsniff --no-vlan-join: only then do VLAN ids choose the part (a connection's directions may be joined across VLANs, so both must be in one part)")
	quiet := fs.Bool("q", false, "no summary on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *prefix == "" || fs.NArg() == 0 || *n < 1 {
		return errors.New("usage: flowsplit -n N -o PREFIX FILE [FILE...]")
	}
	warn := func(err error) { fmt.Fprintf(stderr, "flowsplit: warning: %v\n", err) }
	counts, err := split(fs.Args(), *n, *prefix, *noVLAN || !*noJoin, warn)
	if err != nil {
		return err
	}
	if !*quiet {
		for k, c := range counts {
			fmt.Fprintf(stderr, "%s-%d.pcap: %d packets\n", *prefix, k, c)
		}
	}
	return nil
}

// part is one output file.
type part struct {
	f      *os.File
	b      *bufio.Writer
	w      *pcapgo.Writer
	maxCap int // longest record written
}

// defaultSnap is the parts' snap length unless a record is longer:
// tcpdump's default, and the longest record readers take from a file
// that declares less.
const defaultSnap = 262144

// split writes the parts and returns how many packets each got. A file
// truncated mid-packet is a warning: the packets before the cut are split.
func split(paths []string, n int, prefix string, ignoreVLAN bool, warn func(error)) ([]uint64, error) {
	r, err := pcapfile.Open(paths...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	parts := make([]part, n)
	counts := make([]uint64, n)
	// finish flushes and closes every part created, raising a part's snap
	// length to its longest record; after an error (its own included) it
	// removes them all.
	finish := func(err error) ([]uint64, error) {
		for _, p := range parts {
			if p.f == nil {
				continue
			}
			if err == nil {
				err = p.b.Flush()
			}
			if err == nil && p.maxCap > defaultSnap {
				var b [4]byte
				binary.LittleEndian.PutUint32(b[:], uint32(p.maxCap))
				_, err = p.f.WriteAt(b[:], 16) // pcapgo writes little-endian headers
			}
			if cerr := p.f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			for _, p := range parts {
				if p.f != nil {
					os.Remove(p.f.Name())
				}
			}
			return nil, err
		}
		return counts, nil
	}
	dec := decode.New(decode.Config{})
	batch := make([]pcapfile.Packet, 256)
	link, started := decode.LinkType(0), false
	for {
		cnt, err := r.ReadBatch(batch)
		if errors.Is(err, pcapfile.ErrTruncated) {
			warn(err)
			continue // the packets before the cut were returned
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return finish(err)
		}
		for i := range batch[:cnt] {
			p := &batch[i]
			if !started {
				link, started = p.Link, true
				if err := create(parts, prefix, link); err != nil {
					return finish(err)
				}
			}
			if p.Link != link {
				return finish(fmt.Errorf("%s: link type %v after %v: a pcap part has one link type", r.File(), p.Link, link))
			}
			var seg reassembly.Segment
			res, _ := dec.Decode(p.Link, p.Data, p.OrigLen, p.TS, &seg)
			ci := gopacket.CaptureInfo{
				Timestamp:     time.Unix(0, p.TS).UTC(),
				CaptureLength: p.CaptureLen,
				Length:        p.OrigLen,
			}
			lo, hi := 0, n
			if res == decode.ResultTCP {
				lo = int(reassembly.FlowHash(&seg, ignoreVLAN) % uint64(n))
				hi = lo + 1
			}
			for k := lo; k < hi; k++ {
				if err := parts[k].w.WritePacket(ci, p.Data); err != nil {
					return finish(err)
				}
				parts[k].maxCap = max(parts[k].maxCap, len(p.Data))
				counts[k]++
			}
		}
	}
	if !started {
		if err := create(parts, prefix, link); err != nil {
			return finish(err)
		}
	}
	return finish(nil)
}

// create creates the parts; those it made before an error are in parts,
// for finish to remove.
func create(parts []part, prefix string, link decode.LinkType) error {
	for k := range parts {
		f, err := os.Create(fmt.Sprintf("%s-%d.pcap", prefix, k))
		if err != nil {
			return err
		}
		b := bufio.NewWriterSize(f, 1<<20)
		w := pcapgo.NewWriterNanos(b)
		parts[k] = part{f: f, b: b, w: w}
		if err := w.WriteFileHeader(defaultSnap, layers.LinkType(link)); err != nil {
			return err
		}
	}
	return nil
}
