package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// terminal opens a pseudo-terminal and returns its terminal side, as
// stderr is when fastsniff runs in a shell.
func terminal(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The progress bar is drawn on a terminal for files whose size is known:
// not with -q, not when stderr is not a terminal, and not when one of the
// inputs is a pipe or standard input (no size to measure against).
func TestProgressOnlyForFiles(t *testing.T) {
	tty := terminal(t)
	file := filepath.Join(seedPcapDir, "sniffer-06-gmail.pcap")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	pipe := fmt.Sprintf("/dev/fd/%d", r.Fd())
	other, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, tc := range []struct {
		name  string
		w     *os.File
		files []string
		quiet bool
		on    bool
	}{
		{"files on a terminal", tty, []string{file, file}, false, true},
		{"-q", tty, []string{file}, true, false},
		{"not a terminal", other, []string{file}, false, false},
		{"a pipe among the files", tty, []string{file, pipe}, false, false},
		{"standard input", tty, []string{"-"}, false, false},
	} {
		if p := newProgress(tc.w, tc.files, tc.quiet); p.on != tc.on {
			t.Errorf("%s: progress on %v, want %v", tc.name, p.on, tc.on)
		}
	}
}
