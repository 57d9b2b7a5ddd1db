package pcapfile

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Stdin is the path that reads a capture from standard input, as
// `tcpdump -r -` does.
const Stdin = "-"

// openFile opens path for reading. Stdin is a duplicate of descriptor 0,
// so that closing it leaves os.Stdin open.
func openFile(path string) (*os.File, error) {
	if path != Stdin {
		return os.Open(path)
	}
	fd, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/stdin"), nil
}

// displayName is how errors and File name path.
func displayName(path string) string {
	if path == Stdin {
		return "standard input"
	}
	return path
}

// statPath stats path without opening it; Stdin is descriptor 0.
func statPath(path string) (fs.FileInfo, error) {
	if path == Stdin {
		return os.Stdin.Stat()
	}
	return os.Stat(path)
}

// regular reports whether path names a regular file, without opening it
// (opening a FIFO waits for a writer, and reading a pipe takes its bytes).
// Stdin never is: even redirected from a regular file, its copies share
// one file offset, so it is read once, from where it stands.
func regular(path string) bool {
	st, err := statPath(path)
	return path != Stdin && err == nil && st.Mode().IsRegular()
}

// probe opens every file of r (Open's check). A file that is not regular
// (Stdin, the pipe of a shell's `<(zcat x.pcap.gz)`, a FIFO, a socket, a
// character device) reads only once: the probe takes its first bytes, so
// its source is kept in r.held and read from when its turn comes. The
// others are closed and opened again then.
func (r *Reader) probe() error {
	var once []fs.FileInfo
	for i, p := range r.paths {
		st, err := statPath(p)
		keep := err != nil || !regular(p) // unknown: open it once
		if keep && st != nil {
			for _, o := range once {
				if os.SameFile(o, st) {
					return &FileError{Path: displayName(p), Err: errors.New("can be read only once (not a regular file) and is given twice")}
				}
			}
			once = append(once, st)
		}
		s, err := openSource(p)
		if err != nil {
			return err
		}
		if keep {
			r.held[i] = s
		} else {
			s.close()
		}
	}
	return nil
}

// open returns the source of file i: the one probe kept, or the file
// opened again.
func (r *Reader) open(i int) (*source, error) {
	if s := r.held[i]; s != nil {
		r.held[i] = nil
		return s, nil
	}
	return openSource(r.paths[i])
}

// closeHeld closes the kept sources not read.
func (r *Reader) closeHeld() {
	for i, s := range r.held {
		if s != nil {
			s.close()
			r.held[i] = nil
		}
	}
}
