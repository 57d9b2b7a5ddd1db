package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	netbpf "golang.org/x/net/bpf"
)

// Link-layer types (pcap DLT_* values, as pcap_open_dead takes them).
const (
	DLTNull      = 0   // BSD loopback: 4-byte host-order address family
	DLTEN10MB    = 1   // Ethernet
	DLTRaw       = 12  // raw IPv4/IPv6 (Linux value of DLT_RAW)
	DLTLoop      = 108 // OpenBSD loopback: 4-byte network-order family
	DLTLinuxSLL  = 113 // Linux cooked capture v1
	DLTIPv4      = 228 // raw IPv4
	DLTIPv6      = 229 // raw IPv6
	DLTLinuxSLL2 = 276 // Linux cooked capture v2

	// LinkTypeRaw is the pcap-file LINKTYPE_RAW value; functions here
	// accept it as a synonym of DLTRaw, as libpcap does when it reads a file.
	LinkTypeRaw = 101
)

// DefaultSnaplen is the snapshot length filters are compiled with when the
// caller gives none; libpcap's "accept" returns it.
const DefaultSnaplen = 262144

// normLinkType maps pcap-file LINKTYPE_ values that differ from the DLT_
// value libpcap compiles for.
func normLinkType(lt int) int {
	switch lt {
	case LinkTypeRaw:
		return DLTRaw
	case 100: // LINKTYPE_ATM_RFC1483
		return 11
	}
	return lt
}

// libpcapNames are the sonames tried, in order: Debian's package libpcap0.8
// ships libpcap.so.0.8, other distributions libpcap.so.1; the bare name
// exists only with the -dev package.
var libpcapNames = []string{"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"}

// ErrNoLibpcap is returned (wrapped) by CompileFilter when libpcap cannot be
// loaded; a capture without a filter expression never needs it.
var ErrNoLibpcap = errors.New("libpcap not found")

// cBPF program as libpcap returns it: struct bpf_program.
type pcapProgram struct {
	len   uint32
	_     uint32
	insns unsafe.Pointer // struct bpf_insn *, C memory
}

// struct bpf_insn; the same layout as netbpf.RawInstruction.
type pcapInsn struct {
	code uint16
	jt   uint8
	jf   uint8
	k    uint32
}

type libpcap struct {
	openDead    func(linktype, snaplen int32) uintptr
	openOffline func(path string, errbuf *byte) uintptr
	compile     func(p uintptr, prog *pcapProgram, expr string, optimize int32, netmask uint32) int32
	freecode    func(prog *pcapProgram)
	close       func(p uintptr)
	geterr      func(p uintptr) string
	libVersion  func() string
}

var (
	pcapOnce sync.Once
	pcapLib  *libpcap
	pcapErr  error
	// pcapMu serialises pcap_compile: libpcap before 1.8 keeps the parser
	// state in globals and the cost of the lock is nothing.
	pcapMu sync.Mutex
)

func loadLibpcap() (*libpcap, error) {
	pcapOnce.Do(func() { pcapLib, pcapErr = openLibpcap(libpcapNames) })
	return pcapLib, pcapErr
}

// openLibpcap dlopens the first of names that loads and binds the few
// functions CompileFilter uses.
func openLibpcap(names []string) (*libpcap, error) {
	var handle uintptr
	for _, name := range names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err == nil {
			handle = h
			break
		}
	}
	if handle == 0 {
		return nil, fmt.Errorf("%w (tried %s): install the Debian package libpcap0.8 (apt-get install libpcap0.8) to use filter expressions",
			ErrNoLibpcap, strings.Join(names, ", "))
	}
	lib := &libpcap{}
	for _, f := range []struct {
		fn   any
		name string
	}{
		{&lib.openDead, "pcap_open_dead"},
		{&lib.openOffline, "pcap_open_offline"},
		{&lib.compile, "pcap_compile"},
		{&lib.freecode, "pcap_freecode"},
		{&lib.close, "pcap_close"},
		{&lib.geterr, "pcap_geterr"},
		{&lib.libVersion, "pcap_lib_version"},
	} {
		sym, err := purego.Dlsym(handle, f.name)
		if err != nil || sym == 0 {
			return nil, fmt.Errorf("%w: the libpcap found has no %s: install the Debian package libpcap0.8", ErrNoLibpcap, f.name)
		}
		purego.RegisterFunc(f.fn, sym)
	}
	return lib, nil
}

// LibpcapVersion returns pcap_lib_version() of the libpcap CompileFilter
// uses, loading it if needed.
func LibpcapVersion() (string, error) {
	lib, err := loadLibpcap()
	if err != nil {
		return "", err
	}
	return lib.libVersion(), nil
}

// CompileFilter compiles a pcap-filter(7) expression into classic BPF with
// the system's libpcap (loaded at run time with purego: no cgo) for a live
// capture of the given link type: pcap_open_dead + pcap_compile(optimize=1,
// netmask unknown). linkType is a DLT_ value (LINKTYPE_RAW 101 is accepted
// for DLTRaw); snaplen <= 0 means DefaultSnaplen, which is what the program
// returns for an accepted packet.
//
// An empty (or blank) expression returns a nil program and no error without
// loading libpcap: nil means "accept every packet" everywhere in this
// package. If libpcap is missing the error wraps ErrNoLibpcap and names the
// Debian package to install. Like tcpdump, an expression that can match
// nothing ("ip and ip6") is an error.
func CompileFilter(expr string, linkType int, snaplen int) ([]netbpf.RawInstruction, error) {
	return compile(expr, linkType, snaplen, false)
}

// CompileOfflineFilter is CompileFilter for reading a saved file, exactly
// as tcpdump -r compiles: libpcap opens a (header-only, temporary) savefile
// of that link type. The difference is small but real: for DLT_NULL and
// DLT_LOOP, "ip6" then accepts the BSD values of AF_INET6 a file may hold
// rather than the running system's.
func CompileOfflineFilter(expr string, linkType int, snaplen int) ([]netbpf.RawInstruction, error) {
	return compile(expr, linkType, snaplen, true)
}

// dltToLinkType maps the DLT_ values whose pcap-file LINKTYPE_ differs.
func dltToLinkType(dlt int) int {
	switch dlt {
	case DLTRaw:
		return LinkTypeRaw
	case 11:
		return 100
	}
	return dlt
}

func compile(expr string, linkType int, snaplen int, offline bool) ([]netbpf.RawInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	lib, err := loadLibpcap()
	if err != nil {
		return nil, fmt.Errorf("bpf: filter %q: %w", expr, err)
	}
	dlt := normLinkType(linkType)
	var p uintptr
	if offline {
		path, err := headerOnlySavefile(dlt, snaplen)
		if err != nil {
			return nil, fmt.Errorf("bpf: filter %q: %w", expr, err)
		}
		defer os.Remove(path)
		var errbuf [512]byte // PCAP_ERRBUF_SIZE is 256
		pcapMu.Lock()
		defer pcapMu.Unlock()
		p = lib.openOffline(path, &errbuf[0])
		if p == 0 {
			msg := string(errbuf[:])
			if i := strings.IndexByte(msg, 0); i >= 0 {
				msg = msg[:i]
			}
			return nil, fmt.Errorf("bpf: filter %q: pcap_open_offline: %s", expr, msg)
		}
	} else {
		pcapMu.Lock()
		defer pcapMu.Unlock()
		p = lib.openDead(int32(dlt), int32(snaplen))
		if p == 0 {
			return nil, fmt.Errorf("bpf: pcap_open_dead(linktype %d) failed", linkType)
		}
	}
	defer lib.close(p)
	var prog pcapProgram
	// PCAP_NETMASK_UNKNOWN: "ip broadcast" is then an error, as in tcpdump
	// on an interface without an IPv4 address.
	if lib.compile(p, &prog, expr, 1, 0xffffffff) != 0 {
		return nil, fmt.Errorf("bpf: filter %q: %s", expr, lib.geterr(p))
	}
	defer lib.freecode(&prog)
	if prog.len == 0 || prog.insns == nil {
		return nil, fmt.Errorf("bpf: filter %q: libpcap returned an empty program", expr)
	}
	src := unsafe.Slice((*pcapInsn)(prog.insns), prog.len)
	out := make([]netbpf.RawInstruction, len(src))
	for i, in := range src {
		out[i] = netbpf.RawInstruction{Op: in.code, Jt: in.jt, Jf: in.jf, K: in.k}
	}
	if err := Validate(out); err != nil {
		return nil, fmt.Errorf("bpf: filter %q: %w", expr, err)
	}
	return out, nil
}

// headerOnlySavefile writes a pcap file header (host byte order, like a
// file tcpdump wrote on this machine) with no packets.
func headerOnlySavefile(dlt, snaplen int) (string, error) {
	f, err := os.CreateTemp("", "fastsniff-filter-*.pcap")
	if err != nil {
		return "", err
	}
	var h [24]byte
	ne := binary.NativeEndian
	ne.PutUint32(h[0:], 0xa1b2c3d4)
	ne.PutUint16(h[4:], 2)
	ne.PutUint16(h[6:], 4)
	ne.PutUint32(h[16:], uint32(snaplen))
	ne.PutUint32(h[20:], uint32(dltToLinkType(dlt)))
	_, werr := f.Write(h[:])
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return "", errors.Join(werr, cerr)
	}
	return f.Name(), nil
}
