// Command flowgen writes a pcap of many concurrent TCP connections with
// known payloads and chosen impairments, and the truth about them: what a
// reassembler should deliver for each direction of each connection.
//
//	flowgen -conns 1000 -loss 0.01 -reorder 0.01 -o f.pcap -truth f.jsonl
//	flowgen -preset bench -o bench.pcap -truth bench.jsonl   # >= 1M packets
//	flowgen -preset mixed -seed 7 -o - | tshark -r - -q -z conv,tcp
//	flowgen -flood syn -o syn.pcap                           # 1M SYNs, distinct sources
//	flowgen -flood ack -packets 500000 -start 1577836800.5 -span 30s -o ack.pcap
//
// The same flags always give byte-identical files. "-" writes to standard
// output. A preset sets every field; flags given explicitly override it.
// See package flowgen for what every field means.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "flowgen:", err)
		os.Exit(1)
	}
}

// field is one Config field behind a flag.
type field struct {
	name, doc string
	int       func(*flowgen.Config) *int
	float     func(*flowgen.Config) *float64
}

var fields = []field{
	{name: "conns", doc: "connections (default 100; ignored with -packets)", int: func(c *flowgen.Config) *int { return &c.Conns }},
	{name: "packets", doc: "add connections until at least this many packets", int: func(c *flowgen.Config) *int { return &c.Packets }},
	{name: "min-bytes", doc: "minimum bytes per direction", int: func(c *flowgen.Config) *int { return &c.MinBytes }},
	{name: "max-bytes", doc: "maximum bytes per direction, log-uniform (default 32768)", int: func(c *flowgen.Config) *int { return &c.MaxBytes }},
	{name: "large", doc: "share of connections with a large server response", float: func(c *flowgen.Config) *float64 { return &c.LargeShare }},
	{name: "large-max-bytes", doc: "maximum size of a large response (default 4 MiB)", int: func(c *flowgen.Config) *int { return &c.LargeMaxBytes }},
	{name: "mss", doc: "segment size (default 1460)", int: func(c *flowgen.Config) *int { return &c.MSS }},
	{name: "concurrency", doc: "connections open at once (default 64)", int: func(c *flowgen.Config) *int { return &c.Concurrency }},
	{name: "ipv6", doc: "share of IPv6 connections", float: func(c *flowgen.Config) *float64 { return &c.IPv6Share }},
	{name: "vlan", doc: "share of 802.1Q-tagged connections", float: func(c *flowgen.Config) *float64 { return &c.VLANShare }},
	{name: "reorder", doc: "per segment: swapped with the next one", float: func(c *flowgen.Config) *float64 { return &c.Reorder }},
	{name: "duplicate", doc: "per segment: captured twice", float: func(c *flowgen.Config) *float64 { return &c.Duplicate }},
	{name: "overlap-same", doc: "per segment: overlapping retransmission, same bytes", float: func(c *flowgen.Config) *float64 { return &c.OverlapSame }},
	{name: "overlap-diff", doc: "per segment: later overlapping copy, different bytes", float: func(c *flowgen.Config) *float64 { return &c.OverlapDiff }},
	{name: "loss", doc: "per segment: lost and retransmitted", float: func(c *flowgen.Config) *float64 { return &c.Loss }},
	{name: "capture-loss", doc: "per segment: missing from the capture only (a gap)", float: func(c *flowgen.Config) *float64 { return &c.CaptureLoss }},
	{name: "tiny", doc: "per segment: 1-8 bytes", float: func(c *flowgen.Config) *float64 { return &c.Tiny }},
	{name: "oversize", doc: "per segment: 2-44 MSS, up to 64 KiB", float: func(c *flowgen.Config) *float64 { return &c.Oversize }},
	{name: "one-sided", doc: "per connection: only one direction captured", float: func(c *flowgen.Config) *float64 { return &c.OneSided }},
	{name: "midstream", doc: "per connection: capture misses the start", float: func(c *flowgen.Config) *float64 { return &c.Midstream }},
	{name: "wrap", doc: "per connection: ISNs just below 2^32", float: func(c *flowgen.Config) *float64 { return &c.WrapISN }},
	{name: "port-reuse", doc: "per connection: followed by another on the same 4-tuple", float: func(c *flowgen.Config) *float64 { return &c.PortReuse }},
	{name: "rst", doc: "per connection: ends with a RST", float: func(c *flowgen.Config) *float64 { return &c.RST }},
	{name: "open", doc: "per connection: never closed", float: func(c *flowgen.Config) *float64 { return &c.Open }},
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flowgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg flowgen.Config
	preset := fs.String("preset", "", "start from a preset: bench (realistic mix of 1M packets unless -packets), mixed (every impairment a little)")
	out := fs.String("o", "", "pcap output file (- for stdout)")
	truth := fs.String("truth", "", "truth output file, JSON lines (- for stdout)")
	quiet := fs.Bool("q", false, "no summary on stderr")
	flood := fs.String("flood", "", "write an attack flood instead of connections: syn (distinct sources), ack (random 4-tuples and numbers), rstfin (random RSTs and FINs); -packets packets (default 1M), -seed")
	start := fs.String("start", "", "with -flood: time of the first packet, Unix seconds with up to 9 decimals (default 2020-01-01)")
	span := fs.Duration("span", 0, "with -flood: time from the first to the last packet (default 1µs per packet)")
	encap := fs.String("encap", "none", "wrap every packet in a tunnel: vxlan, geneve, gre, erspan2, erspan3, mpls, pppoe, ipip, gtpu (none)")
	encapID := fs.Uint("encap-id", 1, "the tunnel's id: VNI, GRE key, ERSPAN session, MPLS label, PPPoE session or TEID")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed")
	for _, f := range fields {
		if f.int != nil {
			fs.IntVar(f.int(&cfg), f.name, 0, f.doc)
		} else {
			fs.Float64Var(f.float(&cfg), f.name, 0, f.doc)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" && *truth == "" {
		return fmt.Errorf("nothing to do: give -o and/or -truth")
	}
	if *out == "-" && *truth == "-" {
		return fmt.Errorf("-o and -truth cannot both be stdout")
	}
	if *flood != "" {
		return runFlood(*flood, *start, *span, cfg, *preset, *truth, *out, *quiet, stdout, stderr)
	}
	if *preset != "" {
		var base flowgen.Config
		switch *preset {
		case "bench":
			base = flowgen.Bench(cfg.Seed, cfg.Packets)
		case "mixed":
			base = flowgen.Mixed(cfg.Seed)
		default:
			return fmt.Errorf("unknown preset %q (want bench or mixed)", *preset)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, f := range fields {
			switch {
			case !set[f.name]:
			case f.int != nil:
				*f.int(&base) = *f.int(&cfg)
			default:
				*f.float(&base) = *f.float(&cfg)
			}
		}
		cfg = base
	}
	// The truth file holds digests only: no need to keep the payloads.
	cfg.DigestOnly = true
	e, err := flowgen.ParseEncap(*encap)
	if err != nil {
		return err
	}
	cfg.Encap, cfg.EncapID = e, uint32(*encapID)

	t0 := time.Now()
	c, err := flowgen.Generate(cfg)
	if err != nil {
		return err
	}
	gen := time.Since(t0)
	if err := writeTo(*out, stdout, c.WritePcap); err != nil {
		return err
	}
	if err := writeTo(*truth, stdout, c.WriteTruth); err != nil {
		return err
	}
	if !*quiet {
		var bytes uint64
		for i := range c.Conns {
			bytes += c.Conns[i].Streams[0].Total + c.Conns[i].Streams[1].Total
		}
		fmt.Fprintf(stderr, "flowgen: %d packets, %d connections, %d stream bytes (generated in %v, written in %v)\n",
			c.Len(), len(c.Conns), bytes, gen.Round(time.Millisecond), (time.Since(t0) - gen).Round(time.Millisecond))
	}
	return nil
}

func writeTo(name string, stdout io.Writer, write func(io.Writer) error) error {
	switch name {
	case "":
		return nil
	case "-":
		return write(stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
