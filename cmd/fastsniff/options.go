package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/fastsniff/fastsniff/reassembly"
)

var errHelp = errors.New("help")

// options are the parsed command line.
type options struct {
	files      []string
	filter     string
	workers    int
	connLog    string
	digest     bool
	cid        bool // --community-id
	cidSeed    uint
	localNets  []netip.Prefix // --local-nets
	flowsDir   string
	quiet      bool
	reasm      reassembly.Config
	checksums  bool
	memProfile string
	cpuProfile string
	live       liveOptions    // -i and the flags only a live capture has (live.go)
	http       httpOptions    // --http-* (http.go)
	ssl        sslOptions     // --ssl-log, --tls-bypass (ssl.go)
	metrics    metricsOptions // --metrics (metrics.go)
	memory     memoryOptions  // --max-memory (memory.go)
	evictions  *evictions     // what the budget evicted (memory.go)
	nats       natsOptions    // --nats*, --sensor, --spool* (nats.go)
	write      writeOptions   // -w, -C, -G, -W (pcapout.go)
	rotate     rotateOptions  // --rotate, --rotate-gzip, the log files (logfiles.go)
	version    bool
	tunnel     tunnelOptions // --tunnel-key (tunnel.go)
}

// fileList collects -r, which may be repeated or comma-separated.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fastsniff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files fileList
	var overlap, delivery, filterFile string
	fs.Var(&files, "r", "read packets from capture `FILE` (pcap or pcapng, optionally gzipped; - is standard input); repeat or comma-separate to read several in order as one capture")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "reassembly workers")
	fs.StringVar(&o.connLog, "conn-log", "", "write one JSON line per connection to `PATH` (- for stdout)")
	fs.BoolVar(&o.digest, "digest", false, "add orig_sha256/resp_sha256 (sha256 of each direction's delivered bytes) to the connection log")
	fs.BoolVar(&o.cid, "community-id", false, "add community_id (the Community ID v1 flow hash Suricata, Zeek and Wireshark log) to the connection, HTTP and TLS logs")
	fs.UintVar(&o.cidSeed, "community-id-seed", 0, "with --community-id: the seed (0 to 65535) the monitors to join agreed on")
	fs.Func("local-nets", "add local_orig/local_resp to the connection log: whether each side's address is in one of these `CIDR[,CIDR...]` (Zeek's Site::local_nets; a bare address is one host)", func(v string) error {
		nets, err := parseLocalNets(v)
		o.localNets = append(o.localNets, nets...)
		return err
	})
	fs.StringVar(&o.flowsDir, "flows", "", "write each direction's delivered bytes to a file in `DIR`")
	fs.BoolVar(&o.quiet, "q", false, "quiet: no summary, no progress")
	fs.DurationVar(&o.reasm.IdleTimeout, "idle-timeout", 5*time.Minute, "close connections idle this long (capture clock)")
	fs.StringVar(&overlap, "overlap", "first", "which copy of overlapping bytes wins: first or last")
	fs.StringVar(&delivery, "delivery", "ack", "when bytes are delivered: ack (once the peer ACKed them) or immediate")
	fs.BoolVar(&o.reasm.IgnoreVLAN, "no-vlan-key", false, "leave VLAN ids out of the flow key")
	fs.BoolVar(&o.reasm.NoVLANJoin, "no-vlan-join", false, "keep a connection's directions apart when they arrive with different VLAN stacks (by default they are joined when the sequence numbers agree)")
	fs.BoolVar(&o.reasm.NoMidstream, "no-midstream", false, "ignore connections whose SYN was not captured")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile to `FILE`")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a Go heap profile to `FILE` at exit")
	fs.StringVar(&filterFile, "F", "", "read the FILTER expression from `FILE` (as tcpdump -F; # starts a comment to the end of its line); then none may follow the flags")
	fs.BoolVar(&o.checksums, "checksums", false, "verify IP and TCP checksums (off: captures carry offloaded checksums)")
	addLiveFlags(fs, &o.live)
	addHTTPFlags(fs, &o.http)
	addSSLFlags(fs, &o.ssl)
	addMetricsFlags(fs, &o.metrics)
	addMemoryFlags(fs, &o.memory)
	addNATSFlags(fs, &o.nats, stderr)
	addWriteFlags(fs, &o.write)
	addTunnelFlags(fs, &o.tunnel)
	addRotateFlags(fs, &o.rotate)
	fs.BoolVar(&o.version, "version", false, "print the version and build information, and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fastsniff -r FILE [-r FILE...] [flags] [FILTER...]\n       fastsniff -i IFACE [flags] [FILTER...]\n       fastsniff collect --nats URL[,URL...] [flags] (see fastsniff collect -h)\n\nFILTER is a tcpdump (pcap-filter) expression.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, errHelp
		}
		return nil, fmt.Errorf("%v (see -h)", err)
	}
	if o.version {
		return nil, errVersion
	}
	o.files = files
	o.filter = strings.Join(fs.Args(), " ")
	if filterFile != "" {
		if o.filter != "" {
			return nil, fmt.Errorf("-F %s and a FILTER after the flags (%q) exclude each other", filterFile, o.filter)
		}
		b, err := os.ReadFile(filterFile)
		if err != nil {
			return nil, fmt.Errorf("-F: %v", err)
		}
		o.filter = filterText(b)
	}
	switch overlap {
	case "first":
		o.reasm.Overlap = reassembly.OverlapFirst
	case "last":
		o.reasm.Overlap = reassembly.OverlapLast
	default:
		return nil, fmt.Errorf("--overlap %q: want first or last", overlap)
	}
	switch delivery {
	case "ack":
		o.reasm.Delivery = reassembly.AckGated
	case "immediate":
		o.reasm.Delivery = reassembly.Immediate
	default:
		return nil, fmt.Errorf("--delivery %q: want ack or immediate", delivery)
	}
	switch {
	case len(o.files) == 0 && o.live.iface == "":
		return nil, errors.New("nothing to read: give -r FILE or -i IFACE (see -h)")
	case len(o.files) > 0 && o.live.iface != "":
		return nil, errors.New("-r and -i exclude each other")
	}
	if err := checkModeFlags(fs, o.live.iface != ""); err != nil {
		return nil, err
	}
	if err := checkHTTPOptions(&o.http); err != nil {
		return nil, err
	}
	if err := checkNATSOptions(&o.nats); err != nil {
		return nil, err
	}
	if err := checkWriteOptions(&o.write); err != nil {
		return nil, err
	}
	if err := checkRotateOptions(o); err != nil {
		return nil, err
	}
	if o.cidSeed > 0xffff {
		return nil, fmt.Errorf("--community-id-seed %d: want 0 to 65535", o.cidSeed)
	}
	if o.workers < 1 || o.workers > 1024 {
		return nil, fmt.Errorf("--workers %d: want 1 to 1024", o.workers)
	}
	applyMemory(o, stderr) // memory.go
	return o, nil
}

// filterText is the expression of a -F file: its lines joined, each cut at
// a '#' (a comment to the end of the line, as tcpdump reads -F files).
func filterText(b []byte) string {
	var words []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		words = append(words, strings.Fields(line)...)
	}
	return strings.Join(words, " ")
}

// parseLocalNets parses --local-nets: prefixes or bare addresses (one
// host), comma-separated.
func parseLocalNets(v string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q: not a CIDR prefix or an address", f)
			}
			a = a.Unmap()
			nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q: not a CIDR prefix or an address", f)
		}
		nets = append(nets, p.Masked())
	}
	if len(nets) == 0 {
		return nil, fmt.Errorf("%q: no prefix", v)
	}
	return nets, nil
}
