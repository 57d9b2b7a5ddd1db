package bpf

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"
	netbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// DefaultBypassMapSize is the number of bypass map entries when
// Config.BypassMapSize is 0. A bypassed flow takes two (one per direction).
const DefaultBypassMapSize = 65536

// Config describes the capture program.
type Config struct {
	// Filter is a pcap-filter(7) expression ("" = every TCP packet).
	// Compiling it needs libpcap at run time (Debian: libpcap0.8).
	Filter string
	// AllowNonTCP passes packets that are not TCP on to the filter
	// instead of dropping them.
	AllowNonTCP bool
	// BypassMapSize is the capacity of the LRU bypass map (entries, two
	// per flow); 0 means DefaultBypassMapSize.
	BypassMapSize int
	// LinkType of the sockets the program is attached to: DLTEN10MB
	// (also when 0: AF_PACKET SOCK_RAW on Ethernet, loopback, veth,
	// bridges...) or DLTRaw (SOCK_RAW on tun/ARPHRD_NONE devices, or
	// SOCK_DGRAM sockets, whose data starts at the IP header). With
	// DLTRaw no VLAN tag is re-inserted and flow keys carry no VLAN ids.
	LinkType int
	// Snaplen the filter is compiled with: what libpcap's code returns on
	// accept, and what the program returns without a filter; 0 means
	// DefaultSnaplen.
	Snaplen int
	// DropPassInterval is how often a flow bypassed in drop mode still
	// passes one packet per direction (BypassDrop); 0 means
	// DefaultDropPassInterval. Keep it well below the Table's idle
	// timeout.
	DropPassInterval time.Duration
}

// Counters are the program's per-CPU counters, summed over CPUs. Every
// packet is Seen, then exactly one of NonTCP, Filtered, Passed or Dropped;
// Bypassed counts the Passed packets of bypassed flows (returned cut to
// their headers), Dropped the packets of flows bypassed in drop mode that
// were only counted (BypassDrop). Its memory image is the per-CPU map
// value.
type Counters struct {
	Seen     uint64
	Passed   uint64
	Filtered uint64
	Bypassed uint64
	NonTCP   uint64
	Dropped  uint64
}

const (
	cntSeen = iota
	cntPassed
	cntFiltered
	cntBypassed
	cntNonTCP
	cntDropped
	numCounters
)

// Program is the loaded capture program with its maps.
type Program struct {
	prog     *ebpf.Program
	counters *ebpf.Map
	bypass   *ebpf.Map
	filter   []netbpf.RawInstruction
	linkType int
}

var memlockOnce sync.Once

// Load compiles cfg.Filter (if any), builds the socket-filter program and
// loads it with its maps. The caller attaches it to AF_PACKET sockets with
// Attach (or SO_ATTACH_BPF and FD) and must Close it.
func Load(cfg Config) (*Program, error) {
	lt := normLinkType(cfg.LinkType)
	if cfg.LinkType == 0 {
		lt = DLTEN10MB
	}
	if lt != DLTEN10MB && lt != DLTRaw {
		return nil, fmt.Errorf("bpf: link type %d not supported by the kernel program (only %d Ethernet and %d raw IP)", cfg.LinkType, DLTEN10MB, DLTRaw)
	}
	snaplen := cfg.Snaplen
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	filter, err := CompileFilter(cfg.Filter, lt, snaplen)
	if err != nil {
		return nil, err
	}
	size := cfg.BypassMapSize
	if size <= 0 {
		size = DefaultBypassMapSize
	}
	memlockOnce.Do(func() { _ = rlimit.RemoveMemlock() })

	p, err := newMaps(size)
	if err != nil {
		return nil, err
	}
	p.filter, p.linkType = filter, lt
	pass := cfg.DropPassInterval
	if pass <= 0 {
		pass = DefaultDropPassInterval
	}
	insns, err := buildProgram(lt, cfg.AllowNonTCP, uint32(snaplen), filter, p.counters, p.bypass, uint64(pass))
	if err != nil {
		p.Close()
		return nil, err
	}
	p.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "fastsniff",
		Type:         ebpf.SocketFilter,
		License:      "Dual MIT/GPL",
		Instructions: insns,
	})
	if err != nil {
		p.Close()
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("bpf: the kernel verifier rejected the capture program (filter %q): %+v", cfg.Filter, ve)
		}
		return nil, fmt.Errorf("bpf: loading the capture program: %w", err)
	}
	return p, nil
}

// newMaps creates the program's maps: the counters and a bypass map of
// size entries.
func newMaps(size int) (*Program, error) {
	p := &Program{}
	var err error
	p.counters, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "fs_counters",
		Type:       ebpf.PerCPUArray,
		KeySize:    4,
		ValueSize:  8 * numCounters,
		MaxEntries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("bpf: creating counters map: %w", err)
	}
	p.bypass, err = ebpf.NewMap(&ebpf.MapSpec{
		Name:       "fs_bypass",
		Type:       ebpf.LRUHash,
		KeySize:    flowKeySize,
		ValueSize:  bypassValueSize,
		MaxEntries: uint32(size),
	})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("bpf: creating bypass map: %w", err)
	}
	return p, nil
}

// FD returns the program's file descriptor, for SO_ATTACH_BPF.
func (p *Program) FD() int { return p.prog.FD() }

// Attach attaches the program to a socket (SO_ATTACH_BPF). Attach before
// bind so that no unfiltered packet is queued.
func (p *Program) Attach(sockFD int) error {
	if err := unix.SetsockoptInt(sockFD, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, p.prog.FD()); err != nil {
		return fmt.Errorf("bpf: SO_ATTACH_BPF: %w", err)
	}
	return nil
}

// Filter returns the compiled classic program of Config.Filter (nil without
// a filter).
func (p *Program) Filter() []netbpf.RawInstruction { return p.filter }

// Counters returns the counters summed over all CPUs. CPUs are read one
// after the other, so a snapshot taken under traffic is not atomic.
func (p *Program) Counters() (Counters, error) {
	var per []Counters
	if err := p.counters.Lookup(uint32(0), &per); err != nil {
		return Counters{}, fmt.Errorf("bpf: reading counters: %w", err)
	}
	var c Counters
	for _, v := range per {
		c.Seen += v.Seen
		c.Passed += v.Passed
		c.Filtered += v.Filtered
		c.Bypassed += v.Bypassed
		c.NonTCP += v.NonTCP
		c.Dropped += v.Dropped
	}
	return c, nil
}

// Bypass makes the kernel cut the packets of flow k, both directions, to
// their headers (Ethernet/VLAN/IP/TCP incl. options), so connection state,
// sequence numbers, lengths and FIN/RST still reach userspace. Use it for
// flows past the reassembly depth or closed by the consumer. The map is an
// LRU: under pressure the least recently seen flows fall out, which only
// means their payload is copied again.
func (p *Program) Bypass(k FlowKey) error { return p.BypassWith(k, BypassCut) }

// Unbypass removes both directions of flow k from the bypass map; a flow
// that is not there is not an error.
func (p *Program) Unbypass(k FlowKey) error {
	for _, key := range [2]FlowKey{k, k.Reverse()} {
		b := key.bytes()
		if err := p.bypass.Delete(b[:]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("bpf: unbypass %v: %w", key, err)
		}
	}
	return nil
}

// BypassHits returns how many packets of direction k were cut since it was
// bypassed, and whether it is in the map.
func (p *Program) BypassHits(k FlowKey) (uint64, bool, error) {
	var v bypassValue
	b := k.bytes()
	err := p.bypass.Lookup(b[:], &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("bpf: bypass lookup %v: %w", k, err)
	}
	return v.Packets, true, nil
}

// Close releases the program and its maps (sockets keep the attached
// program alive until they are closed).
func (p *Program) Close() error {
	var errs []error
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
	}
	if p.counters != nil {
		errs = append(errs, p.counters.Close())
	}
	if p.bypass != nil {
		errs = append(errs, p.bypass.Close())
	}
	p.prog, p.counters, p.bypass = nil, nil, nil
	return errors.Join(errs...)
}

// Program labels.
const (
	lblL3        = "fs_l3"
	lblIPv4      = "fs_ipv4"
	lblIPv6      = "fs_ipv6"
	lblTCP       = "fs_tcp"
	lblFilter    = "fs_filter"
	lblPost      = "fs_post"
	lblNonTCP    = "fs_nontcp"
	lblFiltered  = "fs_filtered"
	lblPassed    = "fs_passed"
	lblBypassed  = "fs_bypassed"
	lblDropped   = "fs_dropped"
	lblDropPass  = "fs_droppass"
	lblCutCount  = "fs_cutcount"
	lblDropClose = "fs_dropclose"
	lblCut       = "fs_cut"
)

func mapPtr(dst asm.Register, m *ebpf.Map) (asm.Instruction, error) {
	ins := asm.LoadMapPtr(dst, 0)
	if err := ins.AssociateMap(m); err != nil {
		return ins, err
	}
	return ins, nil
}

// buildProgram emits the capture program:
//
//	parse (real packet data) -> NonTCP: count, drop (or go on if allowed)
//	                         -> TCP/MaybeTCP: key and header length on stack
//	filter (translated cBPF, on the virtual packet)  -> 0: count, drop
//	bypass map lookup when the packet had a key -> hit: cut to headers
//	count, return
//
// Registers during parsing: R6 ctx, R7 the current header offset, R8 the
// ethertype / next header. Every load is preceded by a length check, so
// LD_ABS/LD_IND never end the program behind the counters' back.
func buildProgram(linkType int, allowNonTCP bool, snaplen uint32, filter []netbpf.RawInstruction, counters, bypass *ebpf.Map, dropPassNs uint64) (asm.Instructions, error) {
	e := newEmitter()
	e.emit(asm.Mov.Reg(regCtx, asm.R1))
	for i := 0; i < flowKeySize; i += 8 {
		// asm.StoreImm refuses DWord; BPF_ST|BPF_MEM|BPF_DW is valid.
		e.emit(asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: asm.RFP, Offset: int16(stackKey + i)})
	}
	e.emit(
		asm.StoreImm(asm.RFP, stackHdrLen, 0, asm.Word),
		asm.StoreImm(asm.RFP, stackKeyed, 0, asm.Word),
		asm.StoreImm(asm.RFP, stackCntKey, 0, asm.Word), // parse: 1 = no key (tunnel.go)
		asm.StoreImm(asm.RFP, stackIPEnd, 0, asm.Word),
		asm.StoreImm(asm.RFP, stackFlags, 0, asm.Word),
	)

	lenCheck := newLenCheck(e)

	if err := emitParse(e, linkType, lenCheck, false); err != nil {
		return nil, err
	}

	// User filter on the packet as libpcap would deliver it.
	e.label(lblFilter)
	if filter != nil {
		if err := translateInto(e, filter, lblPost, linkType == DLTEN10MB); err != nil {
			return nil, err
		}
	} else {
		e.emit(asm.Mov.Imm32(regA, int32(snaplen)))
	}

	e.label(lblPost)
	ld, err := mapPtr(asm.R1, bypass)
	if err != nil {
		return nil, err
	}
	// No branch here tests the header length: it is known to be > 0 on
	// keyed paths, and such a decided branch costs the verifier dearly
	// (program_tunnel.go). A keyed flag, stored as a constant, says
	// whether there is a key; the cut is min(verdict, header length)
	// computed without a branch.
	e.emit(
		asm.JEq.Imm32(regA, 0, lblFiltered),
		asm.Mov.Reg32(regTmp, regA),
		asm.LoadMem(asm.R2, asm.RFP, stackKeyed, asm.Word),
		asm.JEq.Imm(asm.R2, 0, lblPassed),
		ld,
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, stackKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, lblPassed),
		asm.Mov.Reg(asm.R9, asm.R0), // the entry (bypassdrop.go), across the helper call
		asm.Mov.Imm(asm.R1, 1),
		asm.LoadMem(asm.R2, asm.R9, bypassOffMode, asm.DWord),
		asm.JEq.Imm(asm.R2, int32(BypassCut), lblCutCount),
		asm.JNE.Imm(asm.R2, int32(BypassDrop), lblCut), // closing
		// Drop mode. SYN/FIN/RST pass (cut, not counted): the Table
		// needs them for state, history and the close; the flags are
		// an unknown scalar here, so this branch is not decided.
		asm.LoadMem(asm.R2, asm.RFP, stackFlags, asm.Word),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.And.Imm(asm.R3, tcpPassFlags<<16),
		asm.JNE.Imm(asm.R3, 0, lblDropClose),
		// a zero window passes cut and uncounted: the Table's history
		// (W) and ZeroWin see it as from a file
		asm.And.Imm(asm.R2, 0xffff),
		asm.JEq.Imm(asm.R2, 0, lblCut),
		asm.FnKtimeGetNs.Call(),
		asm.LoadMem(asm.R1, asm.R9, bypassOffLastPass, asm.DWord),
		asm.Mov.Reg(asm.R2, asm.R0),
		asm.Sub.Reg(asm.R2, asm.R1),
		asm.LoadImm(asm.R3, int64(dropPassNs), asm.DWord),
		asm.JGT.Reg(asm.R2, asm.R3, lblDropPass),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R9, asm.R1, asm.DWord), // bypassOffPackets = 0
		// payload = max(0, IP end - header length), without a branch
		asm.LoadMem(asm.R2, asm.RFP, stackIPEnd, asm.Word),
		asm.LoadMem(asm.R3, asm.RFP, stackHdrLen, asm.Word),
		asm.Sub.Reg(asm.R2, asm.R3),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.ArSh.Imm(asm.R4, 63),
		asm.Xor.Imm(asm.R4, -1),
		asm.And.Reg(asm.R2, asm.R4),
		asm.Add.Imm(asm.R9, bypassOffBytes),
		asm.StoreXAdd(asm.R9, asm.R2, asm.DWord),
		asm.Mov.Imm(regTmp, 0),
		asm.Ja.Label(lblDropped),
	)
	// one packet per DropPassInterval goes on cut; racing CPUs may pass
	// one each, which is harmless
	e.label(lblDropPass)
	e.emit(
		asm.StoreMem(asm.R9, bypassOffLastPass, asm.R0, asm.DWord),
		asm.Ja.Label(lblCut),
	)
	// from its SYN/FIN/RST on, a direction passes everything cut and
	// uncounted, as a capture file shows it to the Table: what follows a
	// close (the last ACK) must not be counted into the connection
	e.label(lblDropClose)
	e.emit(
		asm.Mov.Imm(asm.R1, int32(bypassClosing)),
		asm.StoreMem(asm.R9, bypassOffMode, asm.R1, asm.DWord),
		asm.Ja.Label(lblCut),
	)
	e.label(lblCutCount)
	e.emit(
		asm.StoreXAdd(asm.R9, asm.R1, asm.DWord), // bypassOffPackets = 0
	)
	e.label(lblCut)
	e.emit(
		asm.LoadMem(asm.R2, asm.RFP, stackHdrLen, asm.Word),
		// both < 2^32: R2 += min(0, verdict-R2) = min(verdict, R2)
		asm.Mov.Reg32(asm.R3, regTmp),
		asm.Sub.Reg(asm.R3, asm.R2),
		asm.Mov.Reg(asm.R4, asm.R3),
		asm.ArSh.Imm(asm.R4, 63),
		asm.And.Reg(asm.R3, asm.R4),
		asm.Add.Reg(asm.R2, asm.R3),
		asm.Mov.Reg32(regTmp, asm.R2),
	)

	count := func(label string, fields ...int) error {
		e.label(label)
		ld, err := mapPtr(asm.R1, counters)
		if err != nil {
			return err
		}
		done := e.fresh("fs_done")
		e.emit(
			asm.StoreImm(asm.RFP, stackCntKey, 0, asm.Word),
			ld,
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, stackCntKey),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, done),
		)
		for _, f := range append([]int{cntSeen}, fields...) {
			e.emit(
				asm.LoadMem(asm.R1, asm.R0, int16(8*f), asm.DWord),
				asm.Add.Imm(asm.R1, 1),
				asm.StoreMem(asm.R0, int16(8*f), asm.R1, asm.DWord),
			)
		}
		e.label(done)
		e.emit(asm.Mov.Reg32(asm.R0, regTmp), asm.Return())
		return nil
	}
	if err := count(lblBypassed, cntPassed, cntBypassed); err != nil {
		return nil, err
	}
	if err := count(lblPassed, cntPassed); err != nil {
		return nil, err
	}
	if err := count(lblDropped, cntDropped); err != nil {
		return nil, err
	}
	e.label(lblFiltered)
	e.emit(asm.Mov.Imm(regTmp, 0))
	if err := count(e.fresh("fs_cnt_filtered"), cntFiltered); err != nil {
		return nil, err
	}
	if allowNonTCP {
		e.alias[lblNonTCP] = lblFilter
	} else {
		e.label(lblNonTCP)
		e.emit(asm.Mov.Imm(regTmp, 0))
		if err := count(e.fresh("fs_cnt_nontcp"), cntNonTCP); err != nil {
			return nil, err
		}
	}
	return e.finish()
}

// emitVLANWalk unrolls the walk over in-packet VLAN tags when `start` tags
// are already in the key (1 if the kernel stripped the outer one). Each
// exit that finds a non-tag ethertype jumps to fs_l3 with R7 at the L3
// header and R8 the ethertype.
func emitVLANWalk(e *emitter, start int, lenCheck func(bool, int32, string)) {
	for i := 0; ; i++ {
		n := start + i
		off := int32(12 + 4*i)
		lenCheck(true, off+2, lblNonTCP)
		e.emit(asm.LoadAbs(off, asm.Half))
		target := lblFilter // too many tags: no key, userspace decides
		tag := e.fresh("fs_tag")
		if n < MaxVLANs {
			target = tag
		}
		e.emit(
			asm.JEq.Imm(asm.R0, 0x8100, target),
			asm.JEq.Imm(asm.R0, 0x88a8, target),
			asm.JEq.Imm(asm.R0, 0x9100, target),
			asm.StoreImm(asm.RFP, stackKey+keyNVLANs, int64(n), asm.Byte),
			asm.Mov.Imm(asm.R7, off+2),
			asm.Mov.Reg(asm.R8, asm.R0),
			asm.Ja.Label(lblL3),
		)
		if n == MaxVLANs {
			return
		}
		e.label(tag)
		lenCheck(true, off+4, lblNonTCP)
		e.emit(
			asm.LoadAbs(off+2, asm.Half),
			asm.And.Imm(asm.R0, 0x0fff),
			asm.StoreMem(asm.RFP, int16(stackKey+keyVLANs+2*n), asm.R0, asm.Half),
		)
	}
}

// newLenCheck returns a check that jumps to fail unless the packet has at
// least R7+n bytes (abs=false) or n bytes (abs=true).
func newLenCheck(e *emitter) lenChecker {
	return func(abs bool, n int32, fail string) {
		e.emit(asm.LoadMem(asm.R2, regCtx, skbLen, asm.Word))
		if abs {
			e.emit(asm.JLT.Imm(asm.R2, n, fail))
			return
		}
		e.emit(
			asm.Mov.Reg(asm.R3, asm.R7),
			asm.Add.Imm(asm.R3, n),
			asm.JGT.Reg(asm.R3, asm.R2, fail),
		)
	}
}

// emitParse emits the parse of the capture and fanout programs: link
// layer, IP, tunnels, TCP. It ends at fs_filter with the flow key and
// header length on the stack (TCP), or jumps there without them
// (MaybeTCP), or to fs_nontcp. With atL3, received Ethernet packets start
// at their network header (a PACKET_FANOUT program).
func emitParse(e *emitter, linkType int, lenCheck lenChecker, atL3 bool) error {
	switch linkType {
	case DLTEN10MB:
		if atL3 {
			// A received packet's data starts at its network header
			// (the kernel pulled the Ethernet header; a tag it stripped
			// is in the skb), the type is skb->protocol; a sent one's at
			// its Ethernet header.
			eth := e.fresh("fs_sent")
			e.emit(
				asm.LoadMem(asm.R2, regCtx, skbPktType, asm.Word),
				asm.JEq.Imm(asm.R2, unix.PACKET_OUTGOING, eth),
				asm.LoadMem(asm.R8, regCtx, skbProtocol, asm.Word),
				asm.HostTo(asm.BE, asm.R8, asm.Half),
				asm.Mov.Imm(asm.R7, 0),
			)
			// tags left in the data (QinQ): skipped, no key needs them
			for i := 0; i < MaxVLANs; i++ {
				tag := e.fresh("fs_rxtag")
				e.emit(
					asm.JEq.Imm(asm.R8, 0x8100, tag),
					asm.JEq.Imm(asm.R8, 0x88a8, tag),
					asm.JEq.Imm(asm.R8, 0x9100, tag),
					asm.Ja.Label(lblL3),
				)
				e.label(tag)
				lenCheck(false, 4, lblNonTCP)
				e.emit(
					asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
					asm.Mov.Reg(asm.R8, asm.R0),
					asm.Add.Imm(asm.R7, 4),
				)
			}
			e.emit(asm.Ja.Label(lblL3))
			e.label(eth)
		}
		// A tag the kernel stripped into the skb is the outermost.
		walk0 := e.fresh("fs_walk0")
		e.emit(
			asm.LoadMem(asm.R2, regCtx, skbVlanPresent, asm.Word),
			asm.JEq.Imm(asm.R2, 0, walk0),
			asm.LoadMem(asm.R2, regCtx, skbVlanTCI, asm.Word),
			asm.And.Imm(asm.R2, 0x0fff),
			asm.StoreMem(asm.RFP, stackKey+keyVLANs, asm.R2, asm.Half),
		)
		emitVLANWalk(e, 1, lenCheck)
		e.label(walk0)
		emitVLANWalk(e, 0, lenCheck)

		e.label(lblL3)
		e.emit(
			asm.JEq.Imm(asm.R8, 0x0800, lblIPv4),
			asm.JEq.Imm(asm.R8, 0x86dd, lblIPv6),
			asm.JEq.Imm(asm.R8, 0x8847, lblMPLS),
			asm.JEq.Imm(asm.R8, 0x8848, lblMPLS),
			asm.JEq.Imm(asm.R8, 0x8864, lblPPPoE),
			asm.Ja.Label(lblNonTCP),
		)
		emitMPLS(e, lenCheck)
		emitPPPoE(e, lenCheck)
	case DLTRaw:
		e.emit(asm.Mov.Imm(asm.R7, 0))
		lenCheck(true, 1, lblNonTCP)
		e.emit(
			asm.LoadAbs(0, asm.Byte),
			asm.RSh.Imm(asm.R0, 4),
			asm.JEq.Imm(asm.R0, 4, lblIPv4),
			asm.JEq.Imm(asm.R0, 6, lblIPv6),
			asm.Ja.Label(lblNonTCP),
		)
	default:
		return fmt.Errorf("bpf: link type %d not supported by the kernel program", linkType)
	}

	// IPv4 and IPv6 at R7, in up to MaxTunnels encapsulations
	// (program_tunnel.go).
	emitIPLevels(e, lenCheck)

	// TCP at R7: ports into the key, header length for the bypass.
	e.label(lblTCP)
	lenCheck(false, 20, lblFilter) // cut TCP header: no key, userspace decides
	doffOK := e.fresh("fs_doff")
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Half),
		asm.StoreMem(asm.RFP, stackKey+keySrcPort, asm.R0, asm.Half),
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
		asm.StoreMem(asm.RFP, stackKey+keyDstPort, asm.R0, asm.Half),
		asm.LoadMem(asm.R1, asm.RFP, stackCntKey, asm.Word),
		asm.JNE.Imm(asm.R1, 0, lblFilter), // inner VLAN tags: not keyed
		asm.LoadInd(asm.R0, asm.R7, 12, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.LSh.Imm(asm.R0, 2),
		asm.JGE.Imm(asm.R0, 20, doffOK),
		asm.Mov.Imm(asm.R0, 20),
	)
	e.label(doffOK)
	e.emit(
		asm.Add.Reg(asm.R0, asm.R7),
		asm.StoreMem(asm.RFP, stackHdrLen, asm.R0, asm.Word),
		asm.StoreImm(asm.RFP, stackKeyed, 1, asm.Word),
		// data offset, flags, window (host order), within the 20 bytes
		// checked: drop mode passes SYN/FIN/RST and zero windows
		asm.LoadInd(asm.R0, asm.R7, 12, asm.Word),
		asm.StoreMem(asm.RFP, stackFlags, asm.R0, asm.Word),
	)

	return nil
}
