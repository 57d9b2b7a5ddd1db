package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/engine/live"
	"github.com/fastsniff/fastsniff/outputs/metrics"
	"github.com/fastsniff/fastsniff/outputs/pcapwriter"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

// liveOptions are the flags of a live capture (-i).
type liveOptions struct {
	iface        string
	ringMiB      int
	blockKiB     int
	blockTimeout time.Duration
	noPromisc    bool
	snaplen      int
	user         string
	maxStream    byteSize
	netns        string
}

// byteSize is a flag value in bytes with an optional k, m or g suffix
// (powers of 1024).
type byteSize uint64

func (b *byteSize) String() string { return strconv.FormatUint(uint64(*b), 10) }

func (b *byteSize) Set(s string) error {
	mult := uint64(1)
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	t = strings.TrimSuffix(t, "i")
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return fmt.Errorf("want a number of bytes, optionally with k, m or g: %q", s)
	}
	*b = byteSize(v * mult)
	return nil
}

func addLiveFlags(fs *flag.FlagSet, o *liveOptions) {
	fs.StringVar(&o.iface, "i", "", "capture live on interface `IFACE` (AF_PACKET TPACKET_V3 rings, one per worker, in one fanout group)")
	fs.IntVar(&o.ringMiB, "ring-size", 0, "live: ring size per worker in `MiB` (default 256 MiB shared by the workers, 16 to 64 MiB each)")
	fs.IntVar(&o.blockKiB, "block-size", 1024, "live: ring block size in `KiB` (larger than the largest frame: GRO/TSO frames reach 64 KiB)")
	// 100 ms, not Zeek's and Suricata's 10 ms (with 32 KiB blocks, thousands
	// of them; ours are 1 MiB for CPU): a ring of B blocks holds at
	// most B block timeouts of a quiet port (the kernel hands blocks over
	// mostly empty), and 64 blocks of 10 ms were too little for a worker
	// off its CPU (docs/DEPLOY.md, Sizing)
	fs.DurationVar(&o.blockTimeout, "block-timeout", 100*time.Millisecond, "live: hand over a ring block that is not full after this long")
	fs.BoolVar(&o.noPromisc, "no-promisc", false, "live: do not put the interface into promiscuous mode")
	fs.IntVar(&o.snaplen, "s", 262144, "live: snap length: keep at most `BYTES` of each packet")
	fs.StringVar(&o.user, "Z", "", "live: drop privileges to `USER` (and its group) once the capture is set up, before opening output files")
	fs.Var(&o.maxStream, "max-stream-bytes", "live: reassembly depth: once a direction of a connection has delivered more than `N` bytes (k/m/g suffixes), the kernel cuts the connection's packets to their headers (0: never)")
	fs.StringVar(&o.netns, "netns", "", "live: capture in the network namespace at `PATH` (e.g. /run/netns/NAME)")
}

// liveHandler is a worker's handler chain with the Flush of the outputs
// that buffer, so an idle worker pushes their lines out.
type liveHandler struct {
	reassembly.Handler
	flush []func()
}

func (h *liveHandler) Flush() {
	for _, f := range h.flush {
		f()
	}
}

// IgnoresHalfOpen passes the outputs' answer on (reassembly.HalfOpenIgnorer).
func (h *liveHandler) IgnoresHalfOpen() bool {
	x, ok := h.Handler.(reassembly.HalfOpenIgnorer)
	return ok && x.IgnoresHalfOpen()
}

// runLive is `fastsniff -i`.
func runLive(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	lo := &o.live
	if lo.ringMiB == 0 {
		lo.ringMiB = min(max(256/o.workers, 16), 64)
	}
	if lo.ringMiB < 1 {
		return fmt.Errorf("--ring-size %d: want at least 1 MiB", lo.ringMiB)
	}
	if lo.blockKiB < 8 || lo.blockKiB > 1<<20 {
		return fmt.Errorf("--block-size %d: want 8 KiB to 1 GiB", lo.blockKiB)
	}
	blocks := lo.ringMiB << 10 / lo.blockKiB
	if blocks < 2 {
		return fmt.Errorf("--ring-size %d MiB holds fewer than 2 blocks of %d KiB", lo.ringMiB, lo.blockKiB)
	}
	if lo.snaplen < 64 {
		return fmt.Errorf("-s %d: want at least 64", lo.snaplen)
	}
	if o.write.path == "-" && o.connLog == "-" {
		return errors.New("-w - and --conn-log - cannot both use standard output")
	}

	// Outputs are opened in Ready: after -Z dropped privileges, as
	// tcpdump opens its savefile.
	ms, err := startMetrics(ctx, &o.metrics, stderr, o.quiet)
	if err != nil {
		return err
	}
	defer ms.close()
	var (
		outs = &outputSet{}
		pw   *pcapwriter.Writer // -w, opened in Ready; live.Run closes it
	)
	stopFiles := func() {} // the rotation ticker and SIGHUP, once started
	closeAll := func() error {
		stopFiles()
		err := outs.close()
		if o.rotate.set != nil {
			o.rotate.set.Wait()
		}
		return err
	}
	openAll := func(info live.Info) error {
		// logs rotate on the wall clock, also when idle
		o.rotate.newLogSet(time.Now, nil, func(err error) { fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err) })
		set, err := openOutputs(o, stdout, ms)
		if err != nil {
			return err
		}
		outs = set
		if o.write.path != "" {
			w, err := openPcapOut(&o.write, info.LinkType, lo.snaplen, 8*info.Workers, false, stdout, func(err error) {
				fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err)
			})
			if err != nil {
				return err
			}
			pw = w
		}
		stopTick := func() {}
		if o.rotate.interval > 0 {
			stopTick = tickEvery(time.Second, o.rotate.set.Tick)
		}
		stopHUP := onHangup(func() {
			_ = o.rotate.set.Reopen() // errors come back from the logs' writes
			if pw != nil {
				pw.Reopen()
			}
		})
		stopFiles = func() { stopHUP(); stopTick() }
		return nil
	}

	quiet := o.quiet
	status := newStatusLine(stderr, quiet)
	cfg := live.Config{
		Interface:      lo.iface,
		Workers:        o.workers,
		BlockSize:      lo.blockKiB << 10,
		NumBlocks:      blocks,
		BlockTimeout:   lo.blockTimeout,
		NoPromisc:      lo.noPromisc,
		NetNS:          lo.netns,
		Snaplen:        lo.snaplen,
		Filter:         o.filter,
		MaxStreamBytes: uint64(lo.maxStream),
		OuterFanout:    o.tunnel.outerFanout,
		Reassembly:     o.reasm,
		Decode:         o.decodeConfig(),
		Handler: func(i int) reassembly.Handler {
			h := &liveHandler{}
			hs := outs.handlers(i)
			serviceFrom(hs)
			for _, x := range hs {
				if fl, ok := x.(interface{ Flush() }); ok {
					h.flush = append(h.flush, fl.Flush)
				}
			}
			switch len(hs) {
			case 0:
				h.Handler = reassembly.Funcs{}
			default:
				h.Handler = reassembly.Multi(hs...)
			}
			if outs.ssl != nil {
				return outs.ssl.wrapLive(h, hs) // ssl.go
			}
			return h
		},
		Ready: func(info live.Info) error {
			if lo.user != "" {
				if err := dropPrivileges(lo.user); err != nil {
					return err
				}
			}
			if err := openAll(info); err != nil {
				return err
			}
			if !quiet {
				lt := "EN10MB (Ethernet)"
				if info.LinkType != decode.LinkEthernet {
					lt = "RAW (raw IP)"
				}
				fmt.Fprintf(stderr, "fastsniff: listening on %s, link-type %s, %d workers, ring %d MiB each\n",
					info.Interface, lt, info.Workers, info.RingBytes>>20)
			}
			return nil
		},
		Started: func(c *live.Capture) {
			ms.set("engine", func(s *metrics.Snapshot) {
				sum := c.Snapshot()
				fillFromLive(s, &sum)
			})
		},
		Status: status.update,
		Warn: func(err error) {
			status.clear()
			fmt.Fprintf(stderr, "fastsniff: warning: %v\n", err)
		},
	}
	cfg.Pcap = func() *pcapwriter.Writer { return pw }
	sum, runErr := live.Run(ctx, cfg)
	status.clear()
	ms.set("engine", func(s *metrics.Snapshot) { fillFromLive(s, &sum) })
	closeErr := closeAll()
	if !quiet && sum.Elapsed > 0 { // the capture ran (also when it then failed)
		printSummary(stderr, &sum.Summary)
		printLiveSummary(stderr, &sum)
		if pw != nil {
			printPcapSummary(stderr, pw.Stats())
		}
	}
	if runErr != nil {
		return liveError(runErr)
	}
	return closeErr
}

// fillFromLive reports a live Summary to --metrics.
func fillFromLive(s *metrics.Snapshot, sum *live.Summary) {
	fillFromSummary(s, &sum.Summary)
	s.Kernel = &metrics.KernelStats{Packets: sum.Kernel.Packets, Drops: sum.Kernel.Drops, FreezeQueue: sum.Kernel.FreezeQueue}
	bc := sum.BPF
	s.Filter = &bc
}

// liveError makes set-up errors one line, with a hint for the missing
// capability.
func liveError(err error) error {
	var ce *afpacket.CapError
	if errors.As(err, &ce) {
		exe, xerr := os.Executable()
		if xerr != nil {
			exe = "fastsniff"
		}
		return fmt.Errorf("%s: %v: needs %s; run as root or grant it: setcap cap_net_raw,cap_net_admin,cap_bpf+ep %s", ce.Step, ce.Err, ce.Cap, exe)
	}
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
}

// dropPrivileges switches every thread to user name (a name or a numeric
// uid) and its primary group, dropping supplementary groups, as tcpdump -Z
// does. Go's syscall.Setuid/Setgid apply to all threads of the process.
func dropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return fmt.Errorf("-Z %s: %v", name, err)
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("-Z %s: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("-Z %s: gid %q", name, u.Gid)
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("-Z %s: setgroups: %v", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("-Z %s: setgid: %v", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("-Z %s: setuid: %v", name, err)
	}
	return nil
}

// statusLine prints the once-a-second status on stderr: in place on a
// terminal, one line each otherwise.
type statusLine struct {
	w     io.Writer
	quiet bool
	tty   bool
	drawn bool
}

func newStatusLine(w io.Writer, quiet bool) *statusLine {
	s := &statusLine{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			s.tty = true
		}
	}
	return s
}

func (s *statusLine) update(st live.Status) {
	if s.quiet {
		return
	}
	var share []string
	for _, x := range st.Share {
		share = append(share, fmt.Sprintf("%.0f%%", x*100))
	}
	line := fmt.Sprintf("fastsniff: %s pkt/s, %.1f Mbit/s, drops %d (+%d), conns %d, workers %s",
		siCount(st.PPS), st.Mbps, st.Drops, st.NewDrops, st.Active, strings.Join(share, "/"))
	if st.Bypassed > 0 {
		line += fmt.Sprintf(", bypassed %d", st.Bypassed)
	}
	if s.tty {
		fmt.Fprintf(s.w, "\r%-100s", line)
		s.drawn = true
		return
	}
	fmt.Fprintln(s.w, line)
}

func (s *statusLine) clear() {
	if s.drawn {
		fmt.Fprintf(s.w, "\r%s\r", strings.Repeat(" ", 100))
		s.drawn = false
	}
}

func siCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func printLiveSummary(w io.Writer, s *live.Summary) {
	k := &s.Kernel
	pct := 0.0
	if k.Packets > 0 {
		pct = 100 * float64(k.Drops) / float64(k.Packets)
	}
	b := &s.BPF
	fmt.Fprintf(w, "kernel: received %d, dropped %d (%.3f%%), ring full %d times; bpf: seen %d, passed %d, filtered %d, not tcp %d, bypassed %d packets of %d connections, %d dropped and counted\n",
		k.Packets, k.Drops, pct, k.FreezeQueue, b.Seen, b.Passed, b.Filtered, b.NonTCP, b.Bypassed, s.BypassedConns, b.Dropped)
	if s.BypassLost > 0 {
		fmt.Fprintf(w, "warning: %d bypassed connections lost their kernel counts (the bypass map was full)\n", s.BypassLost)
	}
}
