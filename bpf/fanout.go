package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"
)

// FanoutProgram is a PACKET_FANOUT_EBPF program: it picks the socket of a
// fanout group for each packet (its return value modulo the group's size)
// from a hash of the innermost flow, found by the capture program's own
// parse (tunnels included, see tunnel.go). The hash is symmetric, so both
// directions of an inner flow reach one socket, and the many inner flows
// behind one tunnel header (an ERSPAN session, a VXLAN overlay) spread
// over all of them, where the kernel's own fanout hash sees the outer
// header only. Packets without a TCP flow key hash what the parse found
// (their innermost addresses so far; zero for non-IP). Run it with
// PACKET_FANOUT_FLAG_DEFRAG so that IPv4 fragments are whole first.
type FanoutProgram struct {
	prog *ebpf.Program
}

// LoadFanout builds and loads the fanout program for sockets of the link
// type (DLTEN10MB or DLTRaw).
func LoadFanout(linkType int) (*FanoutProgram, error) {
	lt := normLinkType(linkType)
	if linkType == 0 {
		lt = DLTEN10MB
	}
	memlockOnce.Do(func() { _ = rlimit.RemoveMemlock() })
	insns, err := buildFanout(lt)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "fastsniff_fan",
		Type:         ebpf.SocketFilter,
		License:      "Dual MIT/GPL",
		Instructions: insns,
	})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("bpf: the kernel verifier rejected the fanout program: %+v", ve)
		}
		return nil, fmt.Errorf("bpf: loading the fanout program: %w", err)
	}
	return &FanoutProgram{prog: prog}, nil
}

// FD returns the program's file descriptor, for PACKET_FANOUT_DATA.
func (f *FanoutProgram) FD() int { return f.prog.FD() }

// Close releases the program (a fanout group keeps it while it uses it).
func (f *FanoutProgram) Close() error { return f.prog.Close() }

func buildFanout(linkType int) (asm.Instructions, error) {
	e := newEmitter()
	e.emit(asm.Mov.Reg(regCtx, asm.R1))
	for i := 0; i < flowKeySize; i += 8 {
		e.emit(asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: asm.RFP, Offset: int16(stackKey + i)})
	}
	e.emit(asm.StoreImm(asm.RFP, stackCntKey, 0, asm.Word))
	if err := emitParse(e, linkType, newLenCheck(e), true); err != nil {
		return nil, err
	}
	e.alias[lblNonTCP] = lblFilter
	e.label(lblFilter)
	e.emit(asm.Mov.Imm32(asm.R0, 0))
	for off := int16(0); off < 32; off += 4 {
		e.emit(
			asm.LoadMem(asm.R1, asm.RFP, stackKey+off, asm.Word),
			asm.Xor.Reg32(asm.R0, asm.R1),
		)
	}
	e.emit(
		asm.LoadMem(asm.R1, asm.RFP, stackKey+keySrcPort, asm.Half),
		asm.LoadMem(asm.R2, asm.RFP, stackKey+keyDstPort, asm.Half),
		asm.Mov.Reg32(asm.R3, asm.R1),
		asm.Xor.Reg32(asm.R3, asm.R2),
		asm.Add.Reg32(asm.R1, asm.R2),
		asm.LSh.Imm32(asm.R1, 16),
		asm.Or.Reg32(asm.R3, asm.R1),
		asm.Xor.Reg32(asm.R0, asm.R3),
	)
	// murmur3's finalizer: every input bit reaches the low bits the
	// kernel takes modulo the group size
	e.emit(
		asm.Mov.Reg32(asm.R1, asm.R0), asm.RSh.Imm32(asm.R1, 16), asm.Xor.Reg32(asm.R0, asm.R1),
		asm.Mul.Imm32(asm.R0, -2048144789), // 0x85ebca6b
		asm.Mov.Reg32(asm.R1, asm.R0), asm.RSh.Imm32(asm.R1, 13), asm.Xor.Reg32(asm.R0, asm.R1),
		asm.Mul.Imm32(asm.R0, -1028477387), // 0xc2b2ae35
		asm.Mov.Reg32(asm.R1, asm.R0), asm.RSh.Imm32(asm.R1, 16), asm.Xor.Reg32(asm.R0, asm.R1),
		asm.Return(),
	)
	return e.finish()
}

// FanoutHash is what the fanout program returns for a frame (as Inspect
// sees it: every VLAN tag in the data), for tests and for tools that
// split a capture the way the live engine's sockets would.
func FanoutHash(pkt []byte, linkType int) uint32 {
	p := Inspect(pkt, linkType)
	return fanoutKeyHash(p.Key, p.Class == TCP || p.ports)
}

func fanoutKeyHash(k FlowKey, ports bool) uint32 {
	if !ports {
		k.SrcPort, k.DstPort = 0, 0
	}
	b := k.bytes()
	var h uint32
	for i := 0; i < 32; i += 4 {
		h ^= binary.NativeEndian.Uint32(b[i:])
	}
	sp, dp := uint32(k.SrcPort), uint32(k.DstPort)
	h ^= (sp ^ dp) | (sp+dp)<<16
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
