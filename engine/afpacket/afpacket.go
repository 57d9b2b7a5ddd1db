package afpacket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Defaults for Config's zero fields.
const (
	DefaultBlockSize    = 1 << 20
	DefaultNumBlocks    = 64
	DefaultBlockTimeout = 10 * time.Millisecond
)

// Fanout modes (PACKET_FANOUT_*). FanoutHash keeps both directions of a
// flow on one socket (the kernel's symmetric flow hash); the others do not
// and are only for sources that need no flow affinity.
const (
	FanoutHash = unix.PACKET_FANOUT_HASH
	FanoutLB   = unix.PACKET_FANOUT_LB
	FanoutCPU  = unix.PACKET_FANOUT_CPU
)

// Link types of a ring (pcap LINKTYPE_ values).
const (
	LinkEthernet = 1   // Ethernet framing (also loopback, veth, bridges)
	LinkRaw      = 101 // raw IPv4/IPv6 (tun, ARPHRD_NONE, IP tunnels)
)

// Config describes the sockets of one capture.
type Config struct {
	// Interface is the name of the interface to capture on.
	Interface string
	// BlockSize is the size of a ring block in bytes, a multiple of the
	// page size (rounded up). It bounds the largest frame captured whole.
	// Default DefaultBlockSize.
	BlockSize int
	// NumBlocks is the number of blocks of each socket's ring. Default
	// DefaultNumBlocks.
	NumBlocks int
	// BlockTimeout is how long the kernel waits before handing over a
	// block that is not full (its resolution is 1 ms). Default
	// DefaultBlockTimeout.
	BlockTimeout time.Duration
	// NoPromisc leaves the interface out of promiscuous mode (by default
	// each socket adds a PACKET_MR_PROMISC membership, dropped again when
	// the socket closes).
	NoPromisc bool
	// FanoutMode is the PACKET_FANOUT mode (default FanoutHash).
	FanoutMode int
	// NoDefrag leaves PACKET_FANOUT_FLAG_DEFRAG out: by default the
	// kernel reassembles IP fragments before hashing, so that all
	// fragments of a datagram reach the same socket.
	NoDefrag bool
	// NetNS, if set, is the path of a network namespace (such as
	// /run/netns/NAME or /proc/PID/ns/net) to open the sockets in; by
	// default the caller's.
	NetNS string
}

func (c Config) withDefaults() Config {
	if c.BlockSize <= 0 {
		c.BlockSize = DefaultBlockSize
	}
	page := os.Getpagesize()
	c.BlockSize = (c.BlockSize + page - 1) / page * page
	if c.NumBlocks <= 0 {
		c.NumBlocks = DefaultNumBlocks
	}
	if c.BlockTimeout <= 0 {
		c.BlockTimeout = DefaultBlockTimeout
	}
	return c
}

// Stats are a socket's kernel counters, accumulated since it was opened.
type Stats struct {
	// Packets the socket's filter accepted, Drops included.
	Packets uint64
	// Drops are accepted packets lost because the ring was full.
	Drops uint64
	// FreezeQueue counts the times the ring was full (the kernel froze
	// the queue until userspace gave a block back).
	FreezeQueue uint64
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Packets += o.Packets
	s.Drops += o.Drops
	s.FreezeQueue += o.FreezeQueue
}

// Ring is one AF_PACKET socket and its TPACKET_V3 ring. Next, Release and
// the Blocks they return belong to one goroutine, which may hold several
// blocks at a time (Release gives back the oldest); Stats may be called from
// any; Close must be called once nothing uses the ring any more.
type Ring struct {
	fd        int
	mem       []byte
	blockSize int
	numBlocks int
	cur       int // the next block to read
	held      int // blocks read and not yet released: the ones before cur
	ifindex   int
	iface     string
	hatype    uint16
	pfd       [1]unix.PollFd
	w         waiter

	mu     sync.Mutex
	stats  Stats
	closed bool
}

// ErrPermission wraps the EPERM/EACCES of a step that needs a capability;
// the message names the capability.
var ErrPermission = errors.New("permission denied")

// CapError is a set-up step refused for lack of a capability.
type CapError struct {
	Step string // what was refused, e.g. "AF_PACKET socket"
	Cap  string // the capability it needs, e.g. "CAP_NET_RAW"
	Err  error
}

func (e *CapError) Error() string {
	return fmt.Sprintf("%s: %v: needs %s (run as root, or grant it: setcap cap_net_raw,cap_net_admin,cap_bpf+ep BINARY)", e.Step, e.Err, e.Cap)
}

// Unwrap returns the system error.
func (e *CapError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPermission) true.
func (e *CapError) Is(target error) bool { return target == ErrPermission }

func permErr(step, capName string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return &CapError{Step: step, Cap: capName, Err: err}
	}
	return fmt.Errorf("%s: %w", step, err)
}

// InNetNS runs f on a locked OS thread that has joined the network
// namespace at path (f runs in the caller's namespace when path is "").
// Sockets created by f stay in that namespace.
func InNetNS(path string, f func() error) error {
	if path == "" {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("network namespace: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- permErr("setns "+path, "CAP_SYS_ADMIN", err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// the thread stays locked and dies with the goroutine
			errc <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// interfaceIndex resolves name in the current thread's namespace and checks
// that it is up.
func interfaceIndex(name string) (int, error) {
	if name == "" {
		return 0, errors.New("no interface given")
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil && name == "any" {
		// tcpdump's "any" is a cooked capture of every interface, with
		// no link headers (and the same packet seen on each interface it
		// crosses): not what a ring on one monitoring port is
		return 0, errors.New(`interface any: no such interface (fastsniff captures one interface with its link headers; name it, e.g. the SPAN port; "any" is not supported)`)
	}
	if err != nil {
		return 0, fmt.Errorf("interface %s: no such interface", name)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return 0, fmt.Errorf("interface %s is down (ip link set %s up)", name, name)
	}
	return ifi.Index, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// dropAll is the classic filter "ret #0".
var dropAll = []unix.SockFilter{{Code: 0x06, K: 0}}

// open creates one socket with its ring, drop-all filter, promiscuous
// membership, bound to ifindex. It must run in the target namespace.
func open(cfg *Config, ifindex int) (r *Ring, err error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, permErr("AF_PACKET socket", "CAP_NET_RAW", err)
	}
	r = &Ring{fd: fd, blockSize: cfg.BlockSize, numBlocks: cfg.NumBlocks, ifindex: ifindex, iface: cfg.Interface}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	prog := unix.SockFprog{Len: uint16(len(dropAll)), Filter: &dropAll[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return nil, fmt.Errorf("SO_ATTACH_FILTER: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("PACKET_VERSION TPACKET_V3: %w", err)
	}
	const frameSize = 2048
	if cfg.BlockSize < 2*frameSize {
		return nil, fmt.Errorf("block size %d too small", cfg.BlockSize)
	}
	tov := uint32((cfg.BlockTimeout + time.Millisecond - 1) / time.Millisecond)
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.NumBlocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(cfg.BlockSize / frameSize * cfg.NumBlocks),
		Retire_blk_tov: tov,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING (%d blocks of %d bytes): %w", cfg.NumBlocks, cfg.BlockSize, err)
	}
	r.mem, err = unix.Mmap(fd, 0, cfg.BlockSize*cfg.NumBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.mem = nil
		return nil, fmt.Errorf("mmap of the ring (%d bytes): %w", cfg.BlockSize*cfg.NumBlocks, err)
	}
	if !cfg.NoPromisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, permErr("promiscuous mode", "CAP_NET_ADMIN", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return nil, fmt.Errorf("bind to %s: %w", cfg.Interface, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	if ll, ok := sa.(*unix.SockaddrLinklayer); ok {
		r.hatype = ll.Hatype
	}
	r.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | unix.POLLERR}
	newWaiter(r)
	return r, nil
}

// joinFanout joins fd to the group id with mode and flags.
func joinFanout(fd int, id uint16, mode int) error {
	arg := int(id) | mode<<16
	return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg)
}

// OpenGroup opens n sockets on cfg.Interface, each with its ring, joined in
// one new fanout group, then calls attach (if not nil) on every socket
// (see the package documentation for the order). attach must replace the
// drop-all filter (SO_ATTACH_BPF, SO_ATTACH_FILTER, or DetachFilter to
// capture everything); with a nil attach the caller does so itself. The
// rings are returned in socket order; on error none is left open.
func OpenGroup(cfg Config, n int, attach func(r *Ring) error) ([]*Ring, error) {
	if n < 1 {
		return nil, fmt.Errorf("afpacket: %d sockets", n)
	}
	cfg = cfg.withDefaults()
	mode := cfg.FanoutMode
	if !cfg.NoDefrag {
		mode |= unix.PACKET_FANOUT_FLAG_DEFRAG
	}
	var rings []*Ring
	fail := func(err error) ([]*Ring, error) {
		for _, r := range rings {
			r.Close()
		}
		return nil, err
	}
	err := InNetNS(cfg.NetNS, func() error {
		ifindex, err := interfaceIndex(cfg.Interface)
		if err != nil {
			return err
		}
		var id uint16
		for i := 0; i < n; i++ {
			r, err := open(&cfg, ifindex)
			if err != nil {
				return err
			}
			rings = append(rings, r)
			if i == 0 {
				// let the kernel pick an id no other group in the
				// namespace uses, then read it back
				if err := joinFanout(r.fd, 0, mode|unix.PACKET_FANOUT_FLAG_UNIQUEID); err != nil {
					return fmt.Errorf("PACKET_FANOUT: %w", err)
				}
				v, err := unix.GetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
				if err != nil {
					return fmt.Errorf("PACKET_FANOUT id: %w", err)
				}
				id = uint16(v)
				continue
			}
			if err := joinFanout(r.fd, id, mode); err != nil {
				return fmt.Errorf("PACKET_FANOUT join: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("afpacket: %w", err))
	}
	if attach != nil {
		for _, r := range rings {
			if err := attach(r); err != nil {
				return fail(err)
			}
		}
	}
	return rings, nil
}

// DetachFilter removes the socket's filter (the drop-all filter OpenGroup
// sets), so that it captures every packet.
func (r *Ring) DetachFilter() error {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0); err != nil {
		return fmt.Errorf("afpacket: SO_DETACH_FILTER: %w", err)
	}
	return nil
}

// FD returns the socket's file descriptor.
func (r *Ring) FD() int { return r.fd }

// Ifindex returns the index of the interface the socket is bound to.
func (r *Ring) Ifindex() int { return r.ifindex }

// HardwareType returns the interface's ARPHRD_ type.
func (r *Ring) HardwareType() uint16 { return r.hatype }

// LinkType returns the framing of the ring's frames: LinkEthernet or
// LinkRaw, or 0 for an interface type the engine does not handle.
func (r *Ring) LinkType() int {
	switch r.hatype {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK, unix.ARPHRD_IEEE802:
		return LinkEthernet
	case unix.ARPHRD_NONE, unix.ARPHRD_PPP, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6,
		unix.ARPHRD_SIT, unix.ARPHRD_IPGRE, unix.ARPHRD_RAWIP:
		return LinkRaw
	}
	return 0
}

// BlockSize returns the size of a block.
func (r *Ring) BlockSize() int { return r.blockSize }

// NumBlocks returns the number of blocks.
func (r *Ring) NumBlocks() int { return r.numBlocks }

// block offsets (struct tpacket_block_desc with tpacket_hdr_v1)
const (
	bdStatus     = 8
	bdNumPkts    = 12
	bdFirstPkt   = 16
	bdBlkLen     = 20
	bdTSFirstSec = 32
	bdTSFirstNs  = 36
	bdTSLastSec  = 40
	bdTSLastNsec = 44
	bdHeaderLen  = 48
)

func (r *Ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[i*r.blockSize+bdStatus]))
}

// ready reports whether the next block belongs to userspace (and is not
// one userspace still holds: a full lap of held blocks).
func (r *Ring) ready() bool {
	return r.held < r.numBlocks && atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER != 0
}

// Next returns the next block handed over by the kernel, waiting up to
// timeout for one. ok is false when none came in time; a negative timeout
// does not wait. The block stays userspace's until Release: blocks are
// returned and released in ring order, and a reader may hold a few (the
// kernel fills the others meanwhile).
func (r *Ring) Next(timeout time.Duration) (b Block, ok bool, err error) {
	if !r.ready() {
		if timeout < 0 {
			return Block{}, false, nil
		}
		if err := r.wait(timeout); err != nil {
			return Block{}, false, err
		}
		if !r.ready() {
			return Block{}, false, nil
		}
	}
	off := r.cur * r.blockSize
	b = ParseBlock(r.mem[off : off+r.blockSize : off+r.blockSize])
	r.held++
	if r.cur++; r.cur == r.numBlocks {
		r.cur = 0
	}
	return b, true, nil
}

// pollWait waits for the socket with poll(2): the fallback of wait when
// the runtime's poller does not have the socket, and where it reported a
// socket error.
//
// poll(2) is never restarted after a signal handler (signal(7)), and a Go
// process takes many: SIGURG for preemption, SIGCHLD when a child exits.
// An interrupted poll waits again for what is left of timeout, so that
// Next reports "none in time" only when the time has passed.
func (r *Ring) pollWait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
		r.pfd[0].Revents = 0
		_, err := unix.Poll(r.pfd[:], ms)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return fmt.Errorf("afpacket: poll: %w", err)
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil
		}
	}
	if r.pfd[0].Revents&unix.POLLERR != 0 {
		if err := r.sockErr(); err != nil {
			return err
		}
	}
	if r.pfd[0].Revents&unix.POLLNVAL != 0 {
		return errors.New("afpacket: socket closed")
	}
	return nil
}

// sockErr reads (and so clears) an error queued on the socket, e.g. the
// interface went away, so that it is reported once.
func (r *Ring) sockErr() error {
	v, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || v == 0 {
		return nil
	}
	if unix.Errno(v) == unix.ENETDOWN {
		return fmt.Errorf("afpacket: interface %s went down or away: %w", r.iface, unix.Errno(v))
	}
	return fmt.Errorf("afpacket: socket on %s: %w", r.iface, unix.Errno(v))
}

// Release hands the oldest block Next returned and not yet released back
// to the kernel (none: a no-op). No frame of it may be used afterwards.
func (r *Ring) Release() {
	if r.held == 0 {
		return
	}
	i := r.cur - r.held
	if i < 0 {
		i += r.numBlocks
	}
	atomic.StoreUint32(r.status(i), unix.TP_STATUS_KERNEL)
	r.held--
}

// Held returns the number of blocks Next returned and Release did not yet
// give back.
func (r *Ring) Held() int { return r.held }

// Stats reads the kernel counters (which the read resets) and returns the
// totals since the socket was opened. After Close it returns the last
// totals.
func (r *Ring) Stats() (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.stats, nil
	}
	return r.readStatsLocked()
}

func (r *Ring) readStatsLocked() (Stats, error) {
	st, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return r.stats, fmt.Errorf("afpacket: PACKET_STATISTICS: %w", err)
	}
	r.stats.Packets += uint64(st.Packets)
	r.stats.Drops += uint64(st.Drops)
	r.stats.FreezeQueue += uint64(st.Freeze_q_cnt)
	return r.stats, nil
}

// Close reads the counters a last time, unmaps the ring and closes the
// socket. The caller guarantees that no Block of the ring is in use.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	_, _ = r.readStatsLocked()
	r.closed = true
	var errs []error
	if r.mem != nil {
		errs = append(errs, unix.Munmap(r.mem))
		r.mem = nil
	}
	errs = append(errs, r.w.close(r.fd))
	return errors.Join(errs...)
}
