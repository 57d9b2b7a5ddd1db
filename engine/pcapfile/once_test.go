package pcapfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fastsniff/fastsniff/engine/pcapfile"
)

// feed writes data to a pipe in the background and returns the path of
// its read end (/dev/fd/N, as a shell's <(...) gives) and a channel with
// the writer's result.
func feed(t *testing.T, data []byte) (string, <-chan error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(data)
		w.Close()
		done <- err
	}()
	return fmt.Sprintf("/dev/fd/%d", r.Fd()), done
}

// fifo makes a FIFO in a temporary directory and writes data to it in the
// background (the open waits for the reader).
func fifo(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "capture.fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	unblock(t, p)
	go func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(data)
		f.Close()
	}()
	return p
}

// unblock opens and closes the FIFO's write end 5 s from now: a reader
// that wrongly opened it again (after the one writer left) or at all
// (Plain) would wait for a writer for ever; this one ends its wait with
// an empty read, so the test fails instead of hanging. The result
// reports whether a reader was waiting then.
func unblock(t *testing.T, path string) func() bool {
	var fired atomic.Bool
	tm := time.AfterFunc(5*time.Second, func() {
		// without a reader waiting, a non-blocking open fails (ENXIO)
		if fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			fired.Store(true)
			unix.Close(fd)
		}
	})
	t.Cleanup(func() { tm.Stop() })
	return fired.Load
}

// onStdin makes data descriptor 0's content for the rest of the test.
func onStdin(t *testing.T, data []byte) {
	t.Helper()
	path, _ := feed(t, data)
	var fd int
	if _, err := fmt.Sscanf(path, "/dev/fd/%d", &fd); err != nil {
		t.Fatal(err)
	}
	saved, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup2(fd, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Dup2(saved, 0)
		unix.Close(saved)
	})
}

// stdinFile makes the regular file path descriptor 0 for the rest of
// the test (`< path`).
func stdinFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup2(int(f.Fd()), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Dup2(saved, 0)
		unix.Close(saved)
		f.Close()
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAs checks that got are the packets of want, field by field.
func sameAs(t *testing.T, got, want []decoded) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i].pkt, want[i].pkt
		if !bytes.Equal(g.Data, w.Data) || g.TS != w.TS || g.OrigLen != w.OrigLen || g.Link != w.Link {
			t.Fatalf("packet %d: %d bytes at %d (%v), want %d bytes at %d (%v)", i, len(g.Data), g.TS, g.Link, len(w.Data), w.TS, w.Link)
		}
	}
}

// Standard input, pipes and FIFOs read only once: Open's probe takes
// their first bytes, so what it opened is what is read, in its turn
// among regular files. The big capture is 1.5 MB: more than a pipe holds
// and more than the probe's buffer.
func TestReadsOnce(t *testing.T) {
	tmp := t.TempDir()
	big := filepath.Join(tmp, "big.pcap")
	bigCapture(t, big, false, 1, 1000)
	bigNg := filepath.Join(tmp, "big.pcapng")
	bigCapture(t, bigNg, true, 1, 1000)
	small := dir + "ak-twovlan.pcap"
	ng := dir + "gp-pcapng-be-multisection.pcapng"

	for _, tc := range []struct {
		name string
		// paths to read, given the source file's bytes; want: the same
		// capture from regular files
		paths func(t *testing.T) []string
		want  []string
	}{
		{"pipe", func(t *testing.T) []string {
			p, _ := feed(t, readFile(t, big))
			return []string{p}
		}, []string{big}},
		{"pipe between files", func(t *testing.T) []string {
			p, _ := feed(t, readFile(t, big))
			return []string{small, p, ng}
		}, []string{small, big, ng}},
		{"gzip and pcapng pipes", func(t *testing.T) []string {
			a, _ := feed(t, gzipped(readFile(t, big)))
			b, _ := feed(t, readFile(t, bigNg))
			return []string{a, small, b}
		}, []string{big, small, bigNg}},
		{"fifo", func(t *testing.T) []string {
			return []string{small, fifo(t, readFile(t, big))}
		}, []string{small, big}},
		{"stdin", func(t *testing.T) []string {
			onStdin(t, readFile(t, big))
			return []string{pcapfile.Stdin, small}
		}, []string{big, small}},
		{"stdin from a regular file", func(t *testing.T) []string {
			stdinFile(t, big)
			return []string{small, pcapfile.Stdin}
		}, []string{small, big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, _, errs := readAll(t, 64, tc.want...)
			if len(errs) != 0 || len(want) == 0 {
				t.Fatalf("regular files: %d packets, %v", len(want), errs)
			}
			got, _, errs := readAll(t, 64, tc.paths(t)...)
			if len(errs) != 0 {
				t.Fatal(errs)
			}
			sameAs(t, got, want)
		})
	}
}

// A file that reads only once given twice is an error naming it, whatever
// the path it is given by; a regular file may be given twice.
func TestReadsOnceGivenTwice(t *testing.T) {
	data := readFile(t, dir+"ak-twovlan.pcap")
	for _, tc := range []func() []string{
		func() []string { p, _ := feed(t, data); return []string{p, p} },
		func() []string {
			p, _ := feed(t, data)
			var fd int
			fmt.Sscanf(p, "/dev/fd/%d", &fd)
			return []string{p, fmt.Sprintf("/proc/self/fd/%d", fd)}
		},
		func() []string { onStdin(t, data); return []string{pcapfile.Stdin, "/dev/stdin"} },
	} {
		paths := tc()
		_, err := pcapfile.Open(paths...)
		var fe *pcapfile.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "given twice") || fe.Path != paths[1] {
			t.Errorf("%q: error %v, want one naming %s as given twice", paths, err, paths[1])
		}
	}
	if _, _, errs := readAll(t, 8, dir+"ak-twovlan.pcap", dir+"ak-twovlan.pcap"); len(errs) != 0 {
		t.Error(errs)
	}
}

// Plain does not open a file that reads only once (it would take its
// bytes, or wait for a FIFO's writer): it is not plain.
func TestPlainLeavesPipesAlone(t *testing.T) {
	data := readFile(t, dir+"ak-twovlan.pcap")
	p, _ := feed(t, data)
	if pcapfile.Plain(p) {
		t.Error("a pipe is plain")
	}
	f := filepath.Join(t.TempDir(), "unopened.fifo")
	if err := unix.Mkfifo(f, 0o600); err != nil {
		t.Fatal(err)
	}
	blocked := unblock(t, f)
	if pcapfile.Plain(f) {
		t.Error("a FIFO is plain")
	}
	if blocked() {
		t.Error("Plain opened the FIFO: it waited for a writer")
	}
	stdinFile(t, dir+"ak-twovlan.pcap")
	if pcapfile.Plain(pcapfile.Stdin) { // its copies share one offset
		t.Error("standard input from a regular file is plain")
	}
	if !pcapfile.Plain(dir + "ak-twovlan.pcap") {
		t.Error("a regular pcap file is not plain")
	}
	got, _, errs := readAll(t, 8, p)
	want, _, _ := readAll(t, 8, dir+"ak-twovlan.pcap")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	sameAs(t, got, want)
}

// Close closes what Open held and did not read: the writer of the pipe
// sees its reader go (EPIPE) instead of waiting for ever; an Open that
// fails on a later file closes it too.
func TestCloseReleasesHeld(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.pcap")
	bigCapture(t, big, false, 1, 1000)
	for _, fail := range []bool{false, true} {
		p, done := feed(t, readFile(t, big))
		var fd int
		fmt.Sscanf(p, "/dev/fd/%d", &fd)
		if fail {
			if _, err := pcapfile.Open(p, "main.go"); err == nil {
				t.Fatal("main.go opened as a capture")
			}
		} else {
			r, err := pcapfile.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
		}
		unix.Close(fd) // the test's own end: the Reader's was a copy
		select {
		case err := <-done:
			if !errors.Is(err, unix.EPIPE) {
				t.Errorf("fail %v: writer ended with %v, want EPIPE", fail, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("fail %v: the pipe's writer still waits: its reader was not closed", fail)
		}
	}
}

// Errors name standard input as such.
func TestStdinErrors(t *testing.T) {
	onStdin(t, []byte("not a capture at all"))
	_, err := pcapfile.Open(pcapfile.Stdin)
	if err == nil || !strings.Contains(err.Error(), "standard input: not a pcap") {
		t.Errorf("error %v", err)
	}
}
