package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/outputs/pcapwriter"
)

// writeOptions are -w and its rolling files (-C, -G, -W), the same for -r
// and -i.
type writeOptions struct {
	path     string
	fileSize fileSize
	interval int
	count    int
}

// fileSize is -C: millions of bytes, as tcpdump counts them, or a number
// with a k, m or g suffix (KiB, MiB, GiB, as tcpdump 4.99 reads them).
type fileSize int64

func (b *fileSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *fileSize) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1_000_000)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1<<10, t[:n-1]
		case 'm':
			mult, t = 1<<20, t[:n-1]
		case 'g':
			mult, t = 1<<30, t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return fmt.Errorf("want a positive size: millions of bytes, or a number with k, m or g: %q", s)
	}
	*b = fileSize(v * mult)
	return nil
}

func addWriteFlags(fs *flag.FlagSet, o *writeOptions) {
	fs.StringVar(&o.path, "w", "", "write the TCP packets that pass the filter to pcap `FILE`, unchanged (- for stdout); live, the capture never waits for it: packets it cannot take are counted")
	fs.Var(&o.fileSize, "C", "with -w: start a new file before a packet once the current one is larger than `SIZE` (millions of bytes, or k/m/g); files after the first are FILE1, FILE2, ...")
	fs.IntVar(&o.interval, "G", 0, "with -w: start a new file every `SECONDS` (packet time); FILE is a strftime pattern (e.g. out-%Y%m%d-%H%M%S.pcap)")
	fs.IntVar(&o.count, "W", 0, "with -C or -G: keep only the last `COUNT` files (with -C alone, FILE0..FILE<COUNT-1> are overwritten in turn)")
}

func checkWriteOptions(o *writeOptions) error {
	switch {
	case o.path == "" && (o.fileSize > 0 || o.interval != 0 || o.count != 0):
		for _, f := range []struct {
			set  bool
			name string
		}{{o.fileSize > 0, "-C"}, {o.interval != 0, "-G"}, {o.count != 0, "-W"}} {
			if f.set {
				return fmt.Errorf("%s needs -w FILE", f.name)
			}
		}
	case o.interval < 0:
		return fmt.Errorf("-G %d: want seconds > 0", o.interval)
	case o.count < 0:
		return fmt.Errorf("-W %d: want a count > 0", o.count)
	case o.count > 0 && o.fileSize == 0 && o.interval == 0:
		return errors.New("-W needs -C or -G")
	case o.path == "-" && (o.fileSize > 0 || o.interval > 0):
		return errors.New("-w - (standard output) cannot roll over to new files (-C, -G)")
	}
	return nil
}

// openPcapOut opens -w. wait makes the capture wait for the writer (a
// file read: nothing is lost by waiting); live it never does.
func openPcapOut(o *writeOptions, link decode.LinkType, snaplen, buffers int, wait bool, stdout io.Writer, warn func(error)) (*pcapwriter.Writer, error) {
	w, err := pcapwriter.New(pcapwriter.Config{
		Path:     o.path,
		Stdout:   stdout,
		Snaplen:  uint32(snaplen),
		Link:     link,
		FileSize: int64(o.fileSize),
		Interval: time.Duration(o.interval) * time.Second,
		Count:    o.count,
		Wait:     wait,
		Buffers:  buffers,
		Warn:     warn,
	})
	if err != nil {
		return nil, fmt.Errorf("-w %s: %w", o.path, err)
	}
	return w, nil
}

// printPcapSummary is the -w line of the summary.
func printPcapSummary(w io.Writer, st pcapwriter.Stats) {
	fmt.Fprintf(w, "pcap: %d packets written to %d files, %d dropped", st.Written, st.Files, st.Dropped)
	if st.Mismatch > 0 {
		fmt.Fprintf(w, ", %d of another link type", st.Mismatch)
	}
	fmt.Fprintln(w)
}
