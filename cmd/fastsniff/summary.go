package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fastsniff/fastsniff/engine/offline"
	"github.com/fastsniff/fastsniff/engine/pcapfile"
	"github.com/fastsniff/fastsniff/reassembly"
	"golang.org/x/sys/unix"
)

func printSummary(w io.Writer, s *offline.Summary) {
	r := &s.Reassembly
	secs := s.Elapsed.Seconds()
	pps := 0.0
	if secs > 0 {
		pps = float64(s.Packets) / secs
	}
	fmt.Fprintf(w, "packets %d (%d bytes), tcp segments %d, filtered %d, not tcp %d, malformed %d\n",
		s.Packets, s.Bytes, s.Segments, s.Filtered, s.Decode.NotTCP, s.Decode.Malformed)
	printTunnels(w, &s.Decode)
	var by []string
	for rs := reassembly.ReasonFIN; rs <= reassembly.ReasonShutdown; rs++ {
		if n := r.ClosedBy(rs); n > 0 {
			by = append(by, fmt.Sprintf("%s %d", rs, n))
		}
	}
	fmt.Fprintf(w, "connections %d (midstream %d): %s\n", r.Opened, r.Midstream, strings.Join(by, ", "))
	if n := r.ClosedBy(reassembly.ReasonEvicted); n > 0 {
		fmt.Fprintf(w, "evicted %d under the memory budget: %d half-open, %d with buffered bytes (delivered first), %d idle\n",
			n, r.EvictedHalfOpen, r.EvictedBuffered, n-r.EvictedHalfOpen-r.EvictedBuffered)
	}
	fmt.Fprintf(w, "delivered %d bytes (unacked %d), gaps %d (%d bytes missed), duplicates %d, overlaps %d (conflicting %d), out-of-window %d, ignored rst %d, forced %d\n",
		r.Delivered, r.Unacked, r.Gaps, r.MissedBytes, r.Duplicates, r.Overlaps, r.Conflicts, r.OutOfWindow, r.IgnoredRST, r.Forced)
	fmt.Fprintf(w, "elapsed %s, %.0f packets/s, workers %d\n", s.Elapsed.Round(time.Millisecond), pps, len(s.PerWorker))
}

// progress draws a bar on a terminal while files are read.
type progress struct {
	w     io.Writer
	total uint64
	on    bool
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, files []string, quiet bool) *progress {
	p := &progress{w: w}
	f, ok := w.(*os.File)
	if quiet || !ok {
		return p
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return p
	}
	for _, name := range files {
		st, err := os.Stat(name)
		if name == pcapfile.Stdin || err != nil || !st.Mode().IsRegular() {
			return p // a pipe has no size to measure against
		}
		p.total += uint64(st.Size())
	}
	p.on = p.total > 0
	return p
}

func (p *progress) update(packets, bytes uint64) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	// captured bytes plus 16 bytes of record header per packet: close to
	// the file position for pcap (compressed files overshoot, so clamp)
	frac := float64(bytes+16*packets) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d packets", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, packets)
	p.drawn = true
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 60))
		p.drawn = false
	}
}
