// Command readceiling measures what reading a pcap file costs this machine
// in the ways an offline engine with N workers could read it, without any
// decoding or reassembly: the part of "--workers N against the ideal"
// (issue #10) that no engine work can remove. Each mode walks every record
// and hashes its flow's address and port bytes, as rawOwner does, and
// touches one byte of each record it owns.
//
//	readceiling -mode replicated -n 2 FILE   n readers, each reads all of FILE (what fastsniff -r does)
//	readceiling -mode split FILE...          one reader per FILE at once (the ideal: the flowsplit parts)
//	readceiling -mode striped -n 2 FILE      reader k preads chunks k, k+n, ...; walks them once, listing
//	                                         each reader's records, which each then takes from every chunk
//	readceiling -mode mapped -n 2 FILE       one shared mapping (MADV_POPULATE_READ), n readers walk it all
//
// It prints the mode, wall seconds, user and system CPU seconds and the
// records owned in all. Plain little-endian pcap files only (as flowgen,
// flowsplit and tcprewrite write them).
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const fileHeader = 24

func main() {
	mode := flag.String("mode", "replicated", "replicated, split, striped or mapped")
	n := flag.Int("n", 2, "readers (not for split: one per file)")
	flag.Parse()
	if flag.NArg() < 1 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: readceiling -mode replicated|split|striped|mapped [-n N] FILE...")
		os.Exit(2)
	}
	// what a mode needs before it reads (the striped mode's chunk
	// boundaries, a walk of its own) is not measured
	var run func() (counts, error)
	var err error
	switch *mode {
	case "replicated":
		run = func() (counts, error) { return replicated(flag.Arg(0), *n) }
	case "split":
		run = func() (counts, error) { return split(flag.Args()) }
	case "striped":
		run, err = striped(flag.Arg(0), *n)
	case "mapped":
		run = func() (counts, error) { return mapped(flag.Arg(0), *n) }
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fail(err)
	}
	var before syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		fail(err)
	}
	start := time.Now()
	c, err := run()
	if err != nil {
		fail(err)
	}
	wall := time.Since(start)
	var after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		fail(err)
	}
	user := time.Duration(after.Utime.Nano() - before.Utime.Nano())
	sys := time.Duration(after.Stime.Nano() - before.Stime.Nano())
	fmt.Printf("%s %.3f %.3f %.3f %d %d\n", *mode, wall.Seconds(), user.Seconds(), sys.Seconds(), c.owned, c.sum)
}

// counts are the records owned and a sum of one byte of each (printed, so
// that reading the byte is not optimised away).
type counts struct{ owned, sum int64 }

func (c *counts) add(o counts) { c.owned, c.sum = c.owned+o.owned, c.sum+o.sum }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "readceiling:", err)
	os.Exit(1)
}

// flow hashes the frame's IPv4 addresses and ports (Ethernet, no
// options), symmetric like FlowHash; any other frame hashes to 0.
func flow(frame []byte) uint32 {
	if len(frame) < 38 {
		return 0
	}
	le := binary.LittleEndian
	be := binary.BigEndian
	h := le.Uint32(frame[26:]) ^ le.Uint32(frame[30:]) ^ (uint32(be.Uint16(frame[34:])) + uint32(be.Uint16(frame[36:])))
	h *= 0x9e3779b1
	return h ^ h>>15
}

// walk takes the whole records of b from offset off: each record of
// reader k (flow hash mod n) goes to take, or (take nil) is counted with
// its middle byte, as a decoder would touch it. It returns where the first
// record not whole in b starts.
func walk(b []byte, off, k, n int, take func(off int), c *counts) (int, error) {
	for off+16 <= len(b) {
		cl := int(binary.LittleEndian.Uint32(b[off+8:]))
		if cl > 1<<20 {
			return off, fmt.Errorf("record at %d: capture length %d", off, cl)
		}
		if off+16+cl > len(b) {
			break
		}
		rec := b[off+16 : off+16+cl]
		if int(flow(rec)%uint32(n)) == k {
			if take != nil {
				take(off)
			} else {
				c.owned++
				if cl > 0 {
					c.sum += int64(rec[cl/2])
				}
			}
		}
		off += 16 + cl
	}
	return off, nil
}

// readAll is one reader: read() in 256 KiB, walking each buffer.
func readAll(path string, k, n int) (counts, error) {
	var c counts
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	have, off := 0, fileHeader
	for {
		m, err := f.Read(buf[have:])
		have += m
		next, werr := walk(buf[:have], off, k, n, nil, &c)
		if werr != nil {
			return c, werr
		}
		have = copy(buf, buf[next:have])
		off = 0
		if errors.Is(err, io.EOF) || m == 0 && err == nil {
			return c, nil
		}
		if err != nil {
			return c, err
		}
	}
}

func replicated(path string, n int) (counts, error) {
	return parallel(n, func(k int) (counts, error) { return readAll(path, k, n) })
}

func split(paths []string) (counts, error) {
	return parallel(len(paths), func(k int) (counts, error) { return readAll(paths[k], 0, 1) })
}

// parallel runs f for 0..n-1 at once and adds up their counts.
func parallel(n int, f func(k int) (counts, error)) (counts, error) {
	var wg sync.WaitGroup
	res := make([]counts, n)
	errs := make([]error, n)
	for k := 0; k < n; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[k], errs[k] = f(k)
		}()
	}
	wg.Wait()
	var total counts
	for _, c := range res {
		total.add(c)
	}
	return total, errors.Join(errs...)
}

// chunkStarts returns where chunks of at most size bytes of whole records
// start, and where the records end.
func chunkStarts(path string, size int) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	if _, err := r.Discard(fileHeader); err != nil {
		return nil, err
	}
	starts := []int64{fileHeader}
	pos := int64(fileHeader)
	var hdr [16]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // the end, or a record cut short: not read
		}
		cl := int64(binary.LittleEndian.Uint32(hdr[8:]))
		if n, _ := r.Discard(int(cl)); int64(n) < cl {
			break
		}
		if pos+16+cl-starts[len(starts)-1] > int64(size) {
			starts = append(starts, pos)
		}
		pos += 16 + cl
	}
	return append(starts, pos), nil
}

// striped: reader k preads chunks k, k+n, ... into a ring of slots, walks
// each once (in its cache) listing every reader's records; every reader
// takes its records from every chunk in file order.
func striped(path string, n int) (func() (counts, error), error) {
	const chunk, slots = 256 << 10, 64
	starts, err := chunkStarts(path, chunk)
	if err != nil {
		return nil, err
	}
	nch := len(starts) - 1
	type slot struct {
		buf   []byte
		lists [][]uint32
		ready atomic.Int64 // chunk index + 1 once filled
		done  atomic.Int32 // readers done with it
	}
	ring := make([]slot, slots)
	for i := range ring {
		ring[i].buf = make([]byte, chunk)
		ring[i].lists = make([][]uint32, n)
	}
	reader := func(k int) (counts, error) {
		var c counts
		f, err := os.Open(path)
		if err != nil {
			return c, err
		}
		defer f.Close()
		next := k
		fill := func() error { // read ahead own chunks while slots are free
			for next < nch {
				s := &ring[next%slots]
				if next >= slots && (s.ready.Load() != int64(next-slots+1) || s.done.Load() != int32(n)) {
					return nil
				}
				b := s.buf[:starts[next+1]-starts[next]]
				if _, err := f.ReadAt(b, starts[next]); err != nil {
					return err
				}
				for j := range s.lists {
					s.lists[j] = s.lists[j][:0]
				}
				for off := 0; off+16 <= len(b); {
					cl := int(binary.LittleEndian.Uint32(b[off+8:]))
					if off+16+cl > len(b) {
						return fmt.Errorf("chunk %d: record at %d cut", next, off)
					}
					j := flow(b[off+16:off+16+cl]) % uint32(n)
					s.lists[j] = append(s.lists[j], uint32(off))
					off += 16 + cl
				}
				s.done.Store(0)
				s.ready.Store(int64(next + 1))
				next += n
			}
			return nil
		}
		for ch := 0; ch < nch; ch++ {
			s := &ring[ch%slots]
			for s.ready.Load() != int64(ch+1) {
				if err := fill(); err != nil {
					return c, err
				}
				if s.ready.Load() != int64(ch+1) {
					runtime.Gosched()
				}
			}
			for _, off := range s.lists[k] {
				cl := int(binary.LittleEndian.Uint32(s.buf[off+8:]))
				c.owned++
				if cl > 0 {
					c.sum += int64(s.buf[int(off)+16+cl/2])
				}
			}
			s.done.Add(1)
			if err := fill(); err != nil {
				return c, err
			}
		}
		return c, nil
	}
	return func() (counts, error) { return parallel(n, reader) }, nil
}

// mapped: one read-only mapping of the file, populated at once, that n
// readers walk in full.
func mapped(path string, n int) (counts, error) {
	f, err := os.Open(path)
	if err != nil {
		return counts{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return counts{}, err
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return counts{}, err
	}
	defer unix.Munmap(b) //nolint:errcheck // read-only, unmapped at exit anyway
	if err := unix.Madvise(b, unix.MADV_POPULATE_READ); err != nil {
		return counts{}, err
	}
	return parallel(n, func(k int) (counts, error) {
		var c counts
		_, err := walk(b, fileHeader, k, n, nil, &c)
		return c, err
	})
}
