package bpf

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
	netbpf "golang.org/x/net/bpf"
)

// eBPF register use of translated code. A and X live in callee-saved or
// result registers so that LD_ABS/LD_IND (which clobber R1-R5 and return in
// R0) and helper calls leave X alone; A is R0, as in the kernel's own
// classic-to-eBPF converter, so packet loads land in A directly.
const (
	regA     = asm.R0
	regCtx   = asm.R6 // LD_ABS/LD_IND require the skb context in R6
	regX     = asm.R7
	regTmp   = asm.R8
	regShift = asm.R9 // 0, or -4 when a stripped VLAN tag is re-inserted
)

// Stack layout (offsets from R10), shared with the full program.
const (
	stackMem    = -64  // cBPF M[i] at stackMem + 4*i
	stackSaveA  = -68  // A across LDX MSH
	stackTag    = -72  // re-inserted tag: TPID<<16 | TCI (0 if none)
	stackVLen   = -76  // length of the packet as the filter sees it
	stackHdrLen = -80  // Ethernet..TCP header length (when keyed)
	stackCntKey = -84  // key 0 of the counters map
	stackKeyed  = -88  // 1: the flow key and header length are set
	stackKey    = -136 // FlowKey (flowKeySize bytes)
)

// __sk_buff field offsets (uapi/linux/bpf.h).
const (
	skbLen         = 0
	skbPktType     = 4
	skbMark        = 8
	skbQueue       = 12
	skbProtocol    = 16
	skbVlanPresent = 20
	skbVlanTCI     = 24
	skbVlanProto   = 28
	skbIfindex     = 40
	skbHash        = 68
)

// emitter builds an instruction stream with symbolic jump targets. Several
// labels may name the same instruction: the later ones become aliases,
// resolved in finish (an eBPF instruction carries one symbol only).
type emitter struct {
	insns   asm.Instructions
	pending string
	alias   map[string]string
	seq     int
}

func newEmitter() *emitter { return &emitter{alias: map[string]string{}} }

func (e *emitter) emit(ins ...asm.Instruction) {
	for _, in := range ins {
		if e.pending != "" {
			in = in.WithSymbol(e.pending)
			e.pending = ""
		}
		e.insns = append(e.insns, in)
	}
}

// label names the next emitted instruction.
func (e *emitter) label(name string) {
	if e.pending != "" {
		e.alias[name] = e.pending
		return
	}
	e.pending = name
}

func (e *emitter) fresh(prefix string) string {
	e.seq++
	return fmt.Sprintf("%s_%d", prefix, e.seq)
}

func (e *emitter) finish() (asm.Instructions, error) {
	if e.pending != "" {
		return nil, fmt.Errorf("bpf: internal error: label %s at end of program", e.pending)
	}
	for i := range e.insns {
		ref := e.insns[i].Reference()
		if ref == "" {
			continue
		}
		c, moved := ref, false
		for {
			next, ok := e.alias[c]
			if !ok {
				break
			}
			c, moved = next, true
		}
		if moved {
			e.insns[i] = e.insns[i].WithReference(c)
		}
	}
	return e.insns, nil
}

// translator emits the eBPF form of one classic program. The classic
// program sees the packet "as libpcap delivers it": when the kernel has
// moved the outer VLAN tag into skb metadata (as it does before AF_PACKET
// taps see a frame), the tag is virtually re-inserted at offset 12, so
// ether[12:2] is its TPID, ether[14:2] its TCI, later offsets are shifted
// by 4 and BPF_LEN counts the 4 bytes. Filters compiled by libpcap for
// DLT_EN10MB (which assume in-packet tags) then give the same answer live
// and on a saved file.
type translator struct {
	e        *emitter
	prog     []netbpf.RawInstruction
	reach    []bool
	ret      string // jumped to with the verdict in R0
	drop     string // verdict 0
	dropUsed bool
}

func cLabel(i int) string { return fmt.Sprintf("cbpf_%d", i) }

// Translate converts a classic BPF program (as CompileFilter returns it)
// into a complete eBPF socket-filter program that returns what the classic
// program returns, evaluated on the packet as libpcap would deliver it (see
// package documentation on VLAN tags: Translate assumes Ethernet framing,
// for which that re-insertion is made). The result can be loaded as
// ebpf.SocketFilter; Load embeds the same translation in the capture
// program, without the re-insertion for raw-IP sockets.
func Translate(prog []netbpf.RawInstruction) (asm.Instructions, error) {
	e := newEmitter()
	e.emit(asm.Mov.Reg(regCtx, asm.R1))
	if err := translateInto(e, prog, "cbpf_ret", true); err != nil {
		return nil, err
	}
	e.label("cbpf_ret")
	e.emit(asm.Return())
	return e.finish()
}

// translateInto emits the set-up and body of prog; every path ends with a
// jump to ret with the verdict (u32, 0 = drop) in R0. R6 must hold the
// context. R7-R9 are clobbered. With vlan, a tag the kernel stripped is
// virtually re-inserted at offset 12 (Ethernet framing only).
func translateInto(e *emitter, prog []netbpf.RawInstruction, ret string, vlan bool) error {
	reach, err := reachable(prog)
	if err != nil {
		return err
	}
	t := &translator{e: e, prog: prog, reach: reach, ret: ret, drop: e.fresh("cbpf_drop")}
	t.setup(vlan)
	for i := range prog {
		if !reach[i] {
			continue
		}
		e.label(cLabel(i))
		if err := t.insn(i); err != nil {
			return err
		}
	}
	if t.dropUsed {
		e.label(t.drop)
		e.emit(asm.Mov.Imm32(regA, 0), asm.Ja.Label(ret))
	}
	return nil
}

func (t *translator) setup(vlan bool) {
	e := t.e
	e.emit(
		asm.StoreImm(asm.RFP, stackTag, 0, asm.Word),
		asm.Mov.Imm(regShift, 0),
		asm.LoadMem(asm.R2, regCtx, skbLen, asm.Word),
	)
	if vlan {
		novlan := e.fresh("cbpf_novlan")
		e.emit(
			asm.LoadMem(asm.R3, regCtx, skbVlanPresent, asm.Word),
			asm.JEq.Imm(asm.R3, 0, novlan),
			asm.Mov.Imm(regShift, -4),
			asm.Add.Imm32(asm.R2, 4),
			asm.LoadMem(asm.R3, regCtx, skbVlanProto, asm.Word),
			asm.HostTo(asm.BE, asm.R3, asm.Half),
			asm.LSh.Imm32(asm.R3, 16),
			asm.LoadMem(asm.R4, regCtx, skbVlanTCI, asm.Word),
			asm.And.Imm32(asm.R4, 0xffff),
			asm.Or.Reg32(asm.R3, asm.R4),
			asm.StoreMem(asm.RFP, stackTag, asm.R3, asm.Word),
		)
		e.label(novlan)
	}
	e.emit(
		asm.StoreMem(asm.RFP, stackVLen, asm.R2, asm.Word),
		asm.Mov.Imm32(regA, 0),
		asm.Mov.Imm32(regX, 0),
	)
	// The verifier refuses reads of uninitialised stack; classic BPF
	// starts with M[] zeroed (libpcap's bpf_filter and the kernel alike).
	var used [memWords]bool
	for i, ins := range t.prog {
		if t.reach[i] && (ins.Op == clsLD|szW|modeMEM || ins.Op == clsLDX|szW|modeMEM) {
			used[ins.K] = true
		}
	}
	for k, u := range used {
		if u {
			e.emit(asm.StoreImm(asm.RFP, memOff(uint32(k)), 0, asm.Word))
		}
	}
}

func memOff(k uint32) int16 { return int16(stackMem + 4*int(k)) }

func ebpfSize(n uint32) asm.Size {
	switch n {
	case 4:
		return asm.Word
	case 2:
		return asm.Half
	}
	return asm.Byte
}

func (t *translator) dropLabel() string {
	t.dropUsed = true
	return t.drop
}

func (t *translator) insn(i int) error {
	e := t.e
	ins := t.prog[i]
	code, k := ins.Op, ins.K
	switch code & 0x07 {
	case clsLD:
		switch code & 0xe0 {
		case modeABS:
			return t.loadAbs(k, opSize(code))
		case modeIND:
			t.loadInd(k, opSize(code))
		case modeLEN:
			e.emit(asm.LoadMem(regA, asm.RFP, stackVLen, asm.Word))
		case modeIMM:
			e.emit(asm.Mov.Imm32(regA, int32(k)))
		case modeMEM:
			e.emit(asm.LoadMem(regA, asm.RFP, memOff(k), asm.Word))
		}
	case clsLDX:
		switch code & 0xe0 {
		case modeMSH:
			e.emit(asm.StoreMem(asm.RFP, stackSaveA, regA, asm.Word))
			if err := t.loadAbs(k, 1); err != nil {
				return err
			}
			e.emit(
				asm.And.Imm32(regA, 0xf),
				asm.LSh.Imm32(regA, 2),
				asm.Mov.Reg32(regX, regA),
				asm.LoadMem(regA, asm.RFP, stackSaveA, asm.Word),
			)
		case modeLEN:
			e.emit(asm.LoadMem(regX, asm.RFP, stackVLen, asm.Word))
		case modeIMM:
			e.emit(asm.Mov.Imm32(regX, int32(k)))
		case modeMEM:
			e.emit(asm.LoadMem(regX, asm.RFP, memOff(k), asm.Word))
		}
	case clsST:
		e.emit(asm.StoreMem(asm.RFP, memOff(k), regA, asm.Word))
	case clsSTX:
		e.emit(asm.StoreMem(asm.RFP, memOff(k), regX, asm.Word))
	case clsALU:
		t.alu(code, k)
	case clsJMP:
		t.jump(i, ins)
	case clsRET:
		if code == clsRET|retK {
			e.emit(asm.Mov.Imm32(regA, int32(k)))
		}
		e.emit(asm.Ja.Label(t.ret))
	case clsMISC:
		if code == clsMISC|miscTAX {
			e.emit(asm.Mov.Reg32(regX, regA))
		} else {
			e.emit(asm.Mov.Reg32(regA, regX))
		}
	}
	return nil
}

var aluOps = map[uint16]asm.ALUOp{
	aluADD: asm.Add, aluSUB: asm.Sub, aluMUL: asm.Mul, aluDIV: asm.Div,
	aluOR: asm.Or, aluAND: asm.And, aluLSH: asm.LSh, aluRSH: asm.RSh,
	aluMOD: asm.Mod, aluXOR: asm.Xor,
}

func (t *translator) alu(code uint16, k uint32) {
	e := t.e
	op := code & 0xf0
	if op == aluNEG {
		e.emit(asm.Neg.Imm32(regA, 0))
		return
	}
	aop := aluOps[op]
	if code&srcX == srcK {
		e.emit(aop.Imm32(regA, int32(k)))
		return
	}
	switch op {
	case aluDIV, aluMOD:
		// Classic BPF rejects the packet on division by zero; eBPF
		// would yield 0 and carry on.
		e.emit(asm.JEq.Imm32(regX, 0, t.dropLabel()))
	case aluLSH, aluRSH:
		// libpcap: a shift by 32 or more gives 0 (eBPF leaves it
		// undefined). Zero A first, then any shift keeps it 0.
		do := e.fresh("cbpf_shift")
		e.emit(asm.JLT.Imm32(regX, 32, do), asm.Mov.Imm32(regA, 0))
		e.label(do)
	}
	e.emit(aop.Reg32(regA, regX))
}

func (t *translator) jump(i int, ins netbpf.RawInstruction) {
	e := t.e
	code := ins.Op
	if code&0xf0 == jmpJA {
		e.emit(asm.Ja.Label(cLabel(i + 1 + int(ins.K))))
		return
	}
	var op, neg asm.JumpOp
	switch code & 0xf0 {
	case jmpJEQ:
		op, neg = asm.JEq, asm.JNE
	case jmpJGT:
		op, neg = asm.JGT, asm.JLE
	case jmpJGE:
		op, neg = asm.JGE, asm.JLT
	case jmpJSET:
		op, neg = asm.JSet, asm.InvalidJumpOp
	}
	cond := func(o asm.JumpOp, label string) asm.Instruction {
		if code&srcX == srcX {
			return o.Reg32(regA, regX, label)
		}
		return o.Imm32(regA, int32(ins.K), label)
	}
	tt, ft := i+1+int(ins.Jt), i+1+int(ins.Jf)
	switch {
	case tt == ft:
		e.emit(asm.Ja.Label(cLabel(tt)))
	case ft == i+1:
		e.emit(cond(op, cLabel(tt)))
	case tt == i+1 && neg != asm.InvalidJumpOp:
		e.emit(cond(neg, cLabel(ft)))
	default:
		e.emit(cond(op, cLabel(tt)), asm.Ja.Label(cLabel(ft)))
	}
}

// loadAbs emits A = P[k:k+size] (virtual packet).
func (t *translator) loadAbs(k, size uint32) error {
	e := t.e
	if k >= skfAdOff {
		return t.ancillary(k-skfAdOff, size)
	}
	sz := ebpfSize(size)
	if k >= 0x80000000 {
		// SKF_NET_OFF / SKF_LL_OFF relative loads: the kernel's LD_ABS
		// handles them (and returns 0 from the program if out of range).
		e.emit(asm.LoadAbs(int32(k), sz))
		return nil
	}
	end := k + size
	e.emit(
		asm.LoadMem(asm.R1, asm.RFP, stackVLen, asm.Word),
		asm.JLT.Imm32(asm.R1, int32(end), t.dropLabel()),
	)
	switch {
	case end <= 12:
		e.emit(asm.LoadAbs(int32(k), sz))
	case k >= 16:
		e.emit(asm.LoadInd(regA, regShift, int32(k), sz))
	default:
		plain, join := e.fresh("cbpf_plain"), e.fresh("cbpf_join")
		e.emit(asm.JEq.Imm(regShift, 0, plain))
		t.straddle(k, size)
		e.emit(asm.Ja.Label(join))
		e.label(plain)
		e.emit(asm.LoadAbs(int32(k), sz))
		e.label(join)
	}
	return nil
}

// loadInd emits A = P[X+k : X+k+size] (virtual packet).
func (t *translator) loadInd(k, size uint32) {
	e := t.e
	sz := ebpfSize(size)
	e.emit(
		asm.Mov.Reg32(asm.R1, regX),
		asm.Mov.Imm32(asm.R2, int32(k)),
		asm.Add.Reg(asm.R1, asm.R2), // 64-bit: X+k cannot wrap
		asm.Mov.Reg(asm.R2, asm.R1),
		asm.Add.Imm(asm.R2, int32(size)),
		asm.LoadMem(asm.R3, asm.RFP, stackVLen, asm.Word),
		asm.JGT.Reg(asm.R2, asm.R3, t.dropLabel()),
	)
	plain, join, shifted := e.fresh("cbpf_plain"), e.fresh("cbpf_join"), e.fresh("cbpf_shifted")
	first := 13 - size // lowest offset whose load overlaps bytes 12..15
	e.emit(
		asm.JEq.Imm(regShift, 0, plain),
		asm.JGE.Imm(asm.R1, 16, shifted),
		asm.JLE.Imm(asm.R1, int32(first-1), plain),
	)
	var strad []string
	for v := first; v <= 15; v++ {
		l := e.fresh("cbpf_strad")
		strad = append(strad, l)
		if v < 15 {
			e.emit(asm.JEq.Imm(asm.R1, int32(v), l))
		} else {
			e.emit(asm.Ja.Label(l))
		}
	}
	e.label(shifted)
	e.emit(asm.LoadInd(regA, asm.R1, -4, sz), asm.Ja.Label(join))
	for j, v := 0, first; v <= 15; j, v = j+1, v+1 {
		e.label(strad[j])
		t.straddle(v, size)
		e.emit(asm.Ja.Label(join))
	}
	e.label(plain)
	e.emit(asm.LoadInd(regA, asm.R1, 0, sz))
	e.label(join)
}

// straddle emits A = virtual P[k:k+size] when a stripped tag is
// re-inserted and the load overlaps it: byte by byte, from the real packet
// before offset 12, from the saved tag for 12..15, from the real packet 4
// bytes back after that.
func (t *translator) straddle(k, size uint32) {
	e := t.e
	e.emit(asm.Mov.Imm32(regTmp, 0))
	for j := uint32(0); j < size; j++ {
		vb := k + j
		switch {
		case vb < 12:
			e.emit(asm.LoadAbs(int32(vb), asm.Byte))
		case vb < 16:
			e.emit(
				asm.LoadMem(regA, asm.RFP, stackTag, asm.Word),
				asm.RSh.Imm32(regA, int32(8*(15-vb))),
				asm.And.Imm32(regA, 0xff),
			)
		default:
			e.emit(asm.LoadAbs(int32(vb-4), asm.Byte))
		}
		e.emit(asm.LSh.Imm32(regTmp, 8), asm.Or.Reg32(regTmp, regA))
	}
	e.emit(asm.Mov.Reg32(regA, regTmp))
}

// ancillary translates Linux SKF_AD_* loads (emitted by libpcap only for a
// live Linux handle, never by CompileFilter) to __sk_buff reads, with the
// kernel's classic-BPF meaning: the skb metadata as is.
func (t *translator) ancillary(off, size uint32) error {
	e := t.e
	switch off {
	case skfAdProtocol:
		e.emit(asm.LoadMem(regA, regCtx, skbProtocol, asm.Word), asm.HostTo(asm.BE, regA, asm.Half))
	case skfAdPktType:
		e.emit(asm.LoadMem(regA, regCtx, skbPktType, asm.Word))
	case skfAdIfindex:
		e.emit(asm.LoadMem(regA, regCtx, skbIfindex, asm.Word))
	case skfAdMark:
		e.emit(asm.LoadMem(regA, regCtx, skbMark, asm.Word))
	case skfAdQueue:
		e.emit(asm.LoadMem(regA, regCtx, skbQueue, asm.Word))
	case skfAdRxHash:
		e.emit(asm.LoadMem(regA, regCtx, skbHash, asm.Word))
	case skfAdCPU:
		e.emit(asm.FnGetSmpProcessorId.Call())
	case skfAdAluXorX:
		e.emit(asm.Xor.Reg32(regA, regX))
	case skfAdVlanTag:
		e.emit(asm.LoadMem(regA, regCtx, skbVlanTCI, asm.Word))
	case skfAdVlanTagPresent:
		e.emit(asm.LoadMem(regA, regCtx, skbVlanPresent, asm.Word))
	case skfAdRandom:
		e.emit(asm.FnGetPrandomU32.Call())
	case skfAdVlanTPID:
		e.emit(asm.LoadMem(regA, regCtx, skbVlanProto, asm.Word), asm.HostTo(asm.BE, regA, asm.Half))
	default:
		return fmt.Errorf("bpf: unsupported Linux ancillary load SKF_AD_OFF+%d (size %d)", off, size)
	}
	return nil
}
