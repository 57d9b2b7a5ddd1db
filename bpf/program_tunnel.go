package bpf

import (
	"fmt"

	"github.com/cilium/ebpf/asm"
)

// The IP and tunnel part of the capture program, mirroring classify.go
// and tunnel.go. The parse is unrolled per tunnel level (no loops for the
// verifier to bound): level l's IPv4/IPv6/GRE/UDP blocks hand inner
// packets to level l+1's blocks; at level MaxTunnels a tunnel goes to the
// filter without a key. Registers: R6 ctx, R7 the current offset, R8 and
// R9 scratch that survives LD_IND (which clobbers R0-R5).
//
// Verification cost: no conditional jump may test a register whose value
// the verifier already knows on that path (a protocol number tested
// twice). Such a decided branch makes the verifier mark the register
// precise, its backtracking cannot pass the LD_IND the value came from,
// and it then marks every scalar precise: the offsets in R7 then differ
// between paths, states no longer prune, and every link-layer and tunnel
// path is explored separately (0.5 million instructions, a second of CPU
// per load). So each loaded value is dispatched on once, and a value
// needed twice is loaded again (TestVerifierBudget).

// More program labels.
const (
	lblMPLS  = "fs_mpls"
	lblPPPoE = "fs_pppoe"
)

func lblIP4(l int) string {
	if l == 0 {
		return lblIPv4
	}
	return fmt.Sprintf("fs_ipv4_%d", l)
}

func lblIP6(l int) string {
	if l == 0 {
		return lblIPv6
	}
	return fmt.Sprintf("fs_ipv6_%d", l)
}

func lblEther(l int) string { return fmt.Sprintf("fs_ether_%d", l) }
func lblGRE(l int) string   { return fmt.Sprintf("fs_gre_%d", l) }
func lblUDP(l int) string   { return fmt.Sprintf("fs_udp_%d", l) }

type lenChecker func(abs bool, n int32, fail string)

// emitIPLevels emits the IPv4, IPv6 and tunnel blocks of every level.
func emitIPLevels(e *emitter, lenCheck lenChecker) {
	for l := 0; l <= MaxTunnels; l++ {
		if l > 0 {
			emitInnerEther(e, l, lenCheck)
		}
		emitIPv4(e, l, lenCheck)
		emitIPv6(e, l, lenCheck)
		if l < MaxTunnels {
			emitUDP(e, l, lenCheck) // before GRE: GRE in UDP jumps forward
			emitGRE(e, l, lenCheck)
		}
	}
}

// jumpCarriers jumps to the tunnel opened by IP protocol reg (4, 41, 47,
// 17) at level l, to the filter without a key past MaxTunnels; other
// values fall through.
func jumpCarriers(e *emitter, l int, reg asm.Register) {
	for _, p := range []struct {
		proto  int32
		target string
	}{{4, lblIP4(l + 1)}, {41, lblIP6(l + 1)}, {47, lblGRE(l)}, {17, lblUDP(l)}} {
		t := p.target
		if l == MaxTunnels {
			t = lblFilter // too deep: userspace decides
		}
		e.emit(asm.JEq.Imm(reg, p.proto, t))
	}
}

func emitIPv4(e *emitter, l int, lenCheck lenChecker) {
	e.label(lblIP4(l))
	lenCheck(false, 20, lblNonTCP)
	ok := e.fresh("fs_v4proto")
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 4),
		asm.JNE.Imm(asm.R1, 4, lblNonTCP),
		asm.And.Imm(asm.R0, 0x0f),
		asm.LSh.Imm(asm.R0, 2),
		asm.JLT.Imm(asm.R0, 20, lblNonTCP),
		asm.Mov.Reg(asm.R8, asm.R0),              // IHL in bytes
		asm.LoadInd(asm.R0, asm.R7, 9, asm.Byte), // protocol
		asm.JEq.Imm(asm.R0, 6, ok),
	)
	for _, p := range []int32{4, 41, 47, 17} {
		e.emit(asm.JEq.Imm(asm.R0, p, ok))
	}
	e.emit(asm.Ja.Label(lblNonTCP))
	e.label(ok)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 6, asm.Half),
		asm.And.Imm(asm.R0, 0x3fff),
		asm.JNE.Imm(asm.R0, 0, lblFilter), // fragment: never cut (userspace reassembles)
	)
	if l > 0 {
		// an outer IPv6 header may have filled the first 10 bytes
		for _, k := range []int16{keySrc, keyDst} {
			e.emit(
				asm.Instruction{OpCode: asm.StoreImmOp(asm.DWord), Dst: asm.RFP, Offset: stackKey + k},
				asm.StoreImm(asm.RFP, stackKey+k+8, 0, asm.Half),
			)
		}
	}
	e.emit(
		asm.StoreImm(asm.RFP, stackKey+keySrc+10, 0xffff, asm.Half),
		asm.StoreImm(asm.RFP, stackKey+keyDst+10, 0xffff, asm.Half),
		asm.LoadInd(asm.R0, asm.R7, 12, asm.Word),
		asm.HostTo(asm.BE, asm.R0, asm.Word),
		asm.StoreMem(asm.RFP, stackKey+keySrc+12, asm.R0, asm.Word),
		asm.LoadInd(asm.R0, asm.R7, 16, asm.Word),
		asm.HostTo(asm.BE, asm.R0, asm.Word),
		asm.StoreMem(asm.RFP, stackKey+keyDst+12, asm.R0, asm.Word),
		// the protocol again, loaded anew: dispatching on the value
		// tested above would be a decided branch (see the top)
		// where the datagram ends, for drop mode's payload bytes (no
		// branch on it)
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
		asm.Add.Reg(asm.R0, asm.R7),
		asm.StoreMem(asm.RFP, stackIPEnd, asm.R0, asm.Word),
		asm.LoadInd(asm.R0, asm.R7, 9, asm.Byte),
		asm.Add.Reg(asm.R7, asm.R8),
		asm.JEq.Imm(asm.R0, 6, lblTCP),
	)
	jumpCarriers(e, l, asm.R0)
	e.emit(asm.Ja.Label(lblNonTCP)) // not reached: the protocol was one of those
}

func emitIPv6(e *emitter, l int, lenCheck lenChecker) {
	e.label(lblIP6(l))
	end := e.fresh("fs_v6end")
	lenCheck(false, 40, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JNE.Imm(asm.R0, 6, lblNonTCP),
	)
	for j := int32(0); j < 4; j++ {
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 8+4*j, asm.Word),
			asm.HostTo(asm.BE, asm.R0, asm.Word),
			asm.StoreMem(asm.RFP, int16(stackKey+keySrc+4*j), asm.R0, asm.Word),
			asm.LoadInd(asm.R0, asm.R7, 24+4*j, asm.Word),
			asm.HostTo(asm.BE, asm.R0, asm.Word),
			asm.StoreMem(asm.RFP, int16(stackKey+keyDst+4*j), asm.R0, asm.Word),
		)
	}
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 4, asm.Half), // payload length: where it ends, for drop mode
		asm.Add.Reg(asm.R0, asm.R7),
		asm.Add.Imm(asm.R0, 40),
		asm.StoreMem(asm.RFP, stackIPEnd, asm.R0, asm.Word),
		asm.LoadInd(asm.R0, asm.R7, 6, asm.Byte),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R7, 40),
	)
	for x := 0; x < maxIPv6Ext; x++ {
		ext, frag, ah, next := e.fresh("fs_ext"), e.fresh("fs_frag"), e.fresh("fs_ah"), e.fresh("fs_next")
		e.emit(
			asm.JEq.Imm(asm.R8, 6, lblTCP),
			asm.JEq.Imm(asm.R8, 0, ext),
			asm.JEq.Imm(asm.R8, 43, ext),
			asm.JEq.Imm(asm.R8, 60, ext),
			asm.JEq.Imm(asm.R8, 44, frag),
			asm.JEq.Imm(asm.R8, 51, ah),
			asm.Ja.Label(end),
		)
		// hop-by-hop, routing, destination options: (len+1)*8 bytes
		e.label(ext)
		lenCheck(false, 8, lblNonTCP)
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
			asm.Mov.Reg(asm.R8, asm.R0),
			asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
			asm.Add.Imm(asm.R0, 1),
			asm.LSh.Imm(asm.R0, 3),
			asm.Add.Reg(asm.R7, asm.R0),
			asm.Ja.Label(next),
		)
		// fragment header: 8 bytes; a real fragment (offset or M set) is
		// never cut, an atomic one (both 0) is a whole datagram
		e.label(frag)
		lenCheck(false, 8, lblNonTCP)
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
			asm.And.Imm(asm.R0, 0xfff9),
			asm.JNE.Imm(asm.R0, 0, lblFilter),
			asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
			asm.Mov.Reg(asm.R8, asm.R0),
			asm.Add.Imm(asm.R7, 8),
			asm.Ja.Label(next),
		)
		// AH: (len+2)*4 bytes
		e.label(ah)
		lenCheck(false, 8, lblNonTCP)
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
			asm.Mov.Reg(asm.R8, asm.R0),
			asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
			asm.Add.Imm(asm.R0, 2),
			asm.LSh.Imm(asm.R0, 2),
			asm.Add.Reg(asm.R7, asm.R0),
		)
		e.label(next)
	}
	e.emit(asm.JEq.Imm(asm.R8, 6, lblTCP))
	for _, nh := range []int32{0, 43, 44, 51, 60} {
		e.emit(asm.JEq.Imm(asm.R8, nh, lblFilter)) // chain too long: userspace decides
	}
	// not TCP, not an extension header: a tunnel, or not TCP
	e.label(end)
	jumpCarriers(e, l, asm.R8)
	e.emit(asm.Ja.Label(lblNonTCP))
}

// emitGRE: a GRE header at R7 inside l tunnels. Flags in R9, protocol in
// R8, header length from the flags.
func emitGRE(e *emitter, l int, lenCheck lenChecker) {
	in4, in6, inEth := lblIP4(l+1), lblIP6(l+1), lblEther(l+1)
	e.label(lblGRE(l))
	lenCheck(false, 4, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Half),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.And.Imm(asm.R0, 0x4f07), // version, routing, strict route, recursion
		asm.JNE.Imm(asm.R0, 0, lblNonTCP),
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R7, 4),
	)
	for _, f := range []int32{0x8000, 0x2000, 0x1000} {
		skip := e.fresh("fs_greopt")
		e.emit(
			asm.Mov.Reg(asm.R1, asm.R9),
			asm.And.Imm(asm.R1, f),
			asm.JEq.Imm(asm.R1, 0, skip),
			asm.Add.Imm(asm.R7, 4),
		)
		e.label(skip)
	}
	lenCheck(false, 0, lblNonTCP)
	erspan, erspan3, inIP := e.fresh("fs_erspan"), e.fresh("fs_erspan3"), e.fresh("fs_inip")
	e.emit(
		asm.JEq.Imm(asm.R8, 0x0800, in4),
		asm.JEq.Imm(asm.R8, 0x86dd, in6),
		asm.JEq.Imm(asm.R8, 0x6558, inEth),
		asm.JEq.Imm(asm.R8, 0x22eb, erspan3),
		asm.JNE.Imm(asm.R8, 0x88be, lblFilter),
		asm.And.Imm(asm.R9, 0x1000),
		asm.JEq.Imm(asm.R9, 0, inEth), // ERSPAN I: the frame follows
	)
	e.label(erspan)
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JNE.Imm(asm.R0, 1, lblNonTCP),
		asm.Add.Imm(asm.R7, 8),
		asm.Ja.Label(inEth),
	)
	// ERSPAN III: 12 bytes, 8 more with the O flag; frame type 0 is
	// Ethernet, 2 IP
	e.label(erspan3)
	noSub := e.fresh("fs_nosub")
	lenCheck(false, 12, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JNE.Imm(asm.R0, 2, lblNonTCP),
		asm.LoadInd(asm.R0, asm.R7, 11, asm.Byte),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.LoadInd(asm.R0, asm.R7, 10, asm.Byte),
		asm.RSh.Imm(asm.R0, 2),
		asm.And.Imm(asm.R0, 0x1f),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R7, 12),
		asm.And.Imm(asm.R9, 1),
		asm.JEq.Imm(asm.R9, 0, noSub),
		asm.Add.Imm(asm.R7, 8),
	)
	lenCheck(false, 0, lblNonTCP)
	e.label(noSub)
	e.emit(
		asm.JEq.Imm(asm.R8, 0, inEth),
		asm.JEq.Imm(asm.R8, 2, inIP),
		asm.Ja.Label(lblNonTCP),
	)
	emitInIP(e, l, inIP, lenCheck)
}

// emitInIP: IP told by its version nibble (ERSPAN III, GTP-U).
func emitInIP(e *emitter, l int, inIP string, lenCheck lenChecker) {
	e.label(inIP)
	lenCheck(false, 1, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JEq.Imm(asm.R0, 4, lblIP4(l+1)),
		asm.JEq.Imm(asm.R0, 6, lblIP6(l+1)),
		asm.Ja.Label(lblNonTCP),
	)
}

// emitUDP: a UDP header at R7 inside l tunnels. Source port in R8,
// destination in R9.
func emitUDP(e *emitter, l int, lenCheck lenChecker) {
	in4, in6, inEth := lblIP4(l+1), lblIP6(l+1), lblEther(l+1)
	inIP := e.fresh("fs_inip")
	e.label(lblUDP(l))
	vxlan, geneve, gtp := e.fresh("fs_vxlan"), e.fresh("fs_geneve"), e.fresh("fs_gtp")
	teredo, ayiya := e.fresh("fs_teredo"), e.fresh("fs_ayiya")
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Half),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.Add.Imm(asm.R7, 8),
	)
	// the userspace decoder's order (engine/decode/tunnel.go)
	for _, pt := range []struct {
		port   int32
		target string
	}{{4789, vxlan}, {6081, geneve}, {2152, gtp}, {4754, lblGRE(l)}, {3544, teredo}, {5072, ayiya}} {
		e.emit(
			asm.JEq.Imm(asm.R8, pt.port, pt.target),
			asm.JEq.Imm(asm.R9, pt.port, pt.target),
		)
	}
	e.emit(asm.Ja.Label(teredo)) // relays use any port
	emitTeredo(e, l, teredo, lenCheck)
	emitAYIYA(e, l, ayiya, lenCheck)

	e.label(vxlan)
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.And.Imm(asm.R0, 0x08),
		asm.JEq.Imm(asm.R0, 0, lblNonTCP),
		asm.Add.Imm(asm.R7, 8),
		asm.Ja.Label(inEth),
	)

	e.label(geneve)
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 6),
		asm.JNE.Imm(asm.R1, 0, lblNonTCP),
		asm.And.Imm(asm.R0, 0x3f),
		asm.LSh.Imm(asm.R0, 2),
		asm.Mov.Reg(asm.R9, asm.R0), // option bytes
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R7, 8),
		asm.Add.Reg(asm.R7, asm.R9),
	)
	lenCheck(false, 0, lblNonTCP)
	e.emit(
		asm.JEq.Imm(asm.R8, 0x6558, inEth),
		asm.JEq.Imm(asm.R8, 0x0800, in4),
		asm.JEq.Imm(asm.R8, 0x86dd, in6),
		asm.Ja.Label(lblFilter),
	)

	e.label(gtp)
	gtpOpt := e.fresh("fs_gtpopt")
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.RSh.Imm(asm.R0, 5),
		asm.JNE.Imm(asm.R0, 1, lblNonTCP),
		asm.Mov.Reg(asm.R0, asm.R9),
		asm.And.Imm(asm.R0, 0x10),
		asm.JEq.Imm(asm.R0, 0, lblNonTCP),
		asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
		asm.JNE.Imm(asm.R0, 0xff, lblNonTCP),
		asm.And.Imm(asm.R9, 7),
		asm.JNE.Imm(asm.R9, 0, gtpOpt),
		asm.Add.Imm(asm.R7, 8),
		asm.Ja.Label(inIP),
	)
	// optional fields, then up to maxGTPExt extension headers (R8 the
	// next type; each is length*4 bytes, its last byte the next type)
	e.label(gtpOpt)
	lenCheck(false, 12, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 11, asm.Byte),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R7, 12),
	)
	for i := 0; i < maxGTPExt; i++ {
		e.emit(asm.JEq.Imm(asm.R8, 0, inIP))
		lenCheck(false, 1, lblNonTCP)
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
			asm.LSh.Imm(asm.R0, 2),
			asm.JEq.Imm(asm.R0, 0, lblNonTCP),
			asm.Add.Reg(asm.R7, asm.R0),
		)
		lenCheck(false, 0, lblNonTCP)
		e.emit(
			asm.Mov.Reg(asm.R9, asm.R7),
			asm.Sub.Imm(asm.R9, 1),
			asm.LoadInd(asm.R0, asm.R9, 0, asm.Byte),
			asm.Mov.Reg(asm.R8, asm.R0),
		)
	}
	e.emit(
		asm.JEq.Imm(asm.R8, 0, inIP),
		asm.Ja.Label(lblFilter), // more extensions: userspace decides
	)
	emitInIP(e, l, inIP, lenCheck)
}

// emitInnerEther: an Ethernet frame inside a tunnel, at level l. Its VLAN
// tags are walked but not keyed (the key holds the outer ones only): the
// flag at stackCntKey then keeps the packet from being cut (MaybeTCP),
// while the fanout program still hashes its ports.
func emitInnerEther(e *emitter, l int, lenCheck lenChecker) {
	e.label(lblEther(l))
	lenCheck(false, 14, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 12, asm.Half),
		asm.Add.Imm(asm.R7, 14),
	)
	for i := 0; i < MaxVLANs; i++ {
		tag, untagged := e.fresh("fs_intag"), e.fresh("fs_inuntagged")
		e.emit(
			asm.JEq.Imm(asm.R0, 0x8100, tag),
			asm.JEq.Imm(asm.R0, 0x88a8, tag),
			asm.JEq.Imm(asm.R0, 0x9100, tag),
			asm.Ja.Label(untagged),
		)
		e.label(tag)
		lenCheck(false, 4, lblNonTCP)
		e.emit(
			asm.StoreImm(asm.RFP, stackCntKey, 1, asm.Word),
			asm.LoadInd(asm.R0, asm.R7, 2, asm.Half),
			asm.Add.Imm(asm.R7, 4),
		)
		e.label(untagged)
	}
	e.emit(
		asm.JEq.Imm(asm.R0, 0x0800, lblIP4(l)),
		asm.JEq.Imm(asm.R0, 0x86dd, lblIP6(l)),
	)
	for _, et := range []int32{0x8100, 0x88a8, 0x9100, 0x8847, 0x8848, 0x8864} {
		e.emit(asm.JEq.Imm(asm.R0, et, lblFilter))
	}
	e.emit(asm.Ja.Label(lblNonTCP))
}

// emitMPLS: a label stack after the outer Ethernet header (R7).
func emitMPLS(e *emitter, lenCheck lenChecker) {
	e.label(lblMPLS)
	bos := e.fresh("fs_bos")
	for i := 0; i < maxMPLSLabels; i++ {
		lenCheck(false, 4, lblNonTCP)
		e.emit(
			asm.LoadInd(asm.R0, asm.R7, 0, asm.Word),
			asm.Mov.Reg(asm.R9, asm.R0),
			asm.Add.Imm(asm.R7, 4),
			asm.And.Imm(asm.R0, 0x100),
			asm.JNE.Imm(asm.R0, 0, bos),
		)
	}
	e.emit(asm.Ja.Label(lblFilter)) // longer stack: userspace decides
	e.label(bos)
	e.emit(
		asm.RSh.Imm(asm.R9, 12),
		asm.JEq.Imm(asm.R9, 0, lblIP4(1)),
		asm.JEq.Imm(asm.R9, 2, lblIP6(1)),
	)
	// No type field: the first nibble says IPv4 or IPv6; 0 starts a
	// pseudowire control word, unless the bytes read better as Ethernet
	// without one (a known EtherType at 12, none at 16); anything else
	// is Ethernet (RFC 4448), as the userspace decoder guesses.
	cw, noCW := e.fresh("fs_cw"), e.fresh("fs_nocw")
	lenCheck(false, 1, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JEq.Imm(asm.R0, 4, lblIP4(1)),
		asm.JEq.Imm(asm.R0, 6, lblIP6(1)),
		asm.JEq.Imm(asm.R0, 0, cw),
		asm.Ja.Label(lblEther(1)),
	)
	e.label(cw)
	known16 := e.fresh("fs_cwknown")
	lenCheck(false, 14, noCW)
	e.emit(asm.LoadInd(asm.R0, asm.R7, 12, asm.Half))
	jumpKnownEtherType(e, known16)
	e.emit(asm.Ja.Label(noCW))
	e.label(known16)
	lenCheck(false, 18, lblEther(1))
	e.emit(asm.LoadInd(asm.R0, asm.R7, 16, asm.Half))
	jumpKnownEtherType(e, noCW)
	e.emit(asm.Ja.Label(lblEther(1)))
	e.label(noCW)
	e.emit(
		asm.Add.Imm(asm.R7, 4),
		asm.Ja.Label(lblEther(1)),
	)
}

// jumpKnownEtherType jumps to target when R0 is an EtherType the decoder
// follows (engine/decode knownEtherType).
func jumpKnownEtherType(e *emitter, target string) {
	for _, et := range knownEtherTypes() {
		e.emit(asm.JEq.Imm(asm.R0, int32(et), target))
	}
}

// emitPPPoE: a PPPoE session header after the outer Ethernet header (R7).
func emitPPPoE(e *emitter, lenCheck lenChecker) {
	e.label(lblPPPoE)
	long := e.fresh("fs_ppp2")
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Half),
		asm.JNE.Imm(asm.R0, 0x1100, lblNonTCP),
		asm.LoadInd(asm.R0, asm.R7, 6, asm.Byte),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.And.Imm(asm.R1, 1),
		asm.JEq.Imm(asm.R1, 0, long),
		asm.Add.Imm(asm.R7, 7), // compressed protocol field
		asm.JEq.Imm(asm.R0, 0x21, lblIP4(1)),
		asm.JEq.Imm(asm.R0, 0x57, lblIP6(1)),
		asm.Ja.Label(lblNonTCP),
	)
	e.label(long)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 6, asm.Half),
		asm.Add.Imm(asm.R7, 8),
		asm.JEq.Imm(asm.R0, 0x21, lblIP4(1)),
		asm.JEq.Imm(asm.R0, 0x57, lblIP6(1)),
		asm.Ja.Label(lblNonTCP),
	)
}

// emitTeredo: Teredo (RFC 4380) at R7, the UDP payload, inside l tunnels:
// an authentication header (0x00 0x01, variable length) and an origin
// indication (0x00 0x00, 8 bytes), both optional, then IPv6. As in the
// userspace decoder, on any port (relays use any), and only when the IPv6
// packet ends where the UDP datagram does; a datagram that starts like
// none of these (DNS, QUIC, ...) is NonTCP.
//
// The datagram's end comes from the UDP length when it lies within the
// packet (R8 = 1, R9 the end), else it is unknown (R8 = 0): the decoder
// then measures to the end of the outer IP packet, which the kernel
// program does not track, so an IPv6 packet that could end there is
// passed without a key (MaybeTCP). One that ends past the datagram is
// not Teredo for the decoder either way.
// teredoNext emits the test of the byte at R7 in a Teredo datagram: an
// IPv6 header (to v6) or a Teredo indicator (first byte 0, falls through
// with two bytes known present). The byte is loaded again each time it is
// tested (bpf/README.md: no branch on a value the verifier already knows).
func teredoNext(e *emitter, lenCheck lenChecker, v6 string) {
	lenCheck(false, 1, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 4),
		asm.JEq.Imm(asm.R1, 6, v6),
		asm.JNE.Imm(asm.R0, 0, lblNonTCP),
	)
	lenCheck(false, 2, lblNonTCP)
}

func emitTeredo(e *emitter, l int, teredo string, lenCheck lenChecker) {
	noEnd, hdrs, origin, v6 := e.fresh("fs_tnoend"), e.fresh("fs_thdrs"), e.fresh("fs_torigin"), e.fresh("fs_tv6")
	e.label(teredo)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, -4, asm.Half), // UDP length
		asm.Mov.Imm(asm.R8, 0),
		asm.JLT.Imm(asm.R0, 8, noEnd),
		asm.Mov.Reg(asm.R9, asm.R7),
		asm.Sub.Imm(asm.R9, 8),
		asm.Add.Reg(asm.R9, asm.R0),
		asm.LoadMem(asm.R2, regCtx, skbLen, asm.Word),
		asm.JGT.Reg(asm.R9, asm.R2, noEnd),
		asm.Mov.Imm(asm.R8, 1),
	)
	e.label(noEnd)
	e.label(hdrs)
	teredoNext(e, lenCheck, v6)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
		asm.JEq.Imm(asm.R0, 0, origin),
		asm.JNE.Imm(asm.R0, 1, lblNonTCP),
	)
	// authentication: 4 + client id length + auth value length + 9 bytes
	lenCheck(false, 4, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Half), // both lengths
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.RSh.Imm(asm.R1, 8),
		asm.And.Imm(asm.R0, 0xff),
		asm.Add.Reg(asm.R0, asm.R1),
		asm.Add.Reg(asm.R7, asm.R0),
		asm.Add.Imm(asm.R7, 13),
	)
	teredoNext(e, lenCheck, v6)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
		asm.JNE.Imm(asm.R0, 0, lblNonTCP),
	)
	e.label(origin)
	e.emit(asm.Add.Imm(asm.R7, 8))
	lenCheck(false, 1, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.JNE.Imm(asm.R0, 6, lblNonTCP),
	)
	e.label(v6)
	lenCheck(false, 40, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 4, asm.Half), // payload length
		asm.Add.Imm(asm.R0, 40),
		asm.Add.Reg(asm.R0, asm.R7),
		asm.JEq.Imm(asm.R8, 0, lblFilter),
		asm.JEq.Reg(asm.R0, asm.R9, lblIP6(l+1)),
		asm.JGT.Reg(asm.R0, asm.R9, lblNonTCP),
		asm.Ja.Label(lblFilter),
	)
}

// emitAYIYA: AYIYA (UDP 5072) at R7 inside l tunnels, as the userspace
// decoder (and Zeek) reads it: identity and signature lengths from the
// first two bytes; only a forward operation (opcode 1) of IPv4 or IPv6
// carries a packet.
func emitAYIYA(e *emitter, l int, ayiya string, lenCheck lenChecker) {
	e.label(ayiya)
	lenCheck(false, 8, lblNonTCP)
	e.emit(
		asm.LoadInd(asm.R0, asm.R7, 0, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.Mov.Imm(asm.R8, 1),
		asm.LSh.Reg(asm.R8, asm.R0), // identity: 2^n bytes
		asm.LoadInd(asm.R0, asm.R7, 1, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.LSh.Imm(asm.R0, 2), // signature: 4n bytes
		asm.Add.Reg(asm.R8, asm.R0),
		asm.Add.Imm(asm.R8, 8),
		asm.LoadInd(asm.R0, asm.R7, 2, asm.Byte),
		asm.And.Imm(asm.R0, 0x0f),
		asm.JNE.Imm(asm.R0, 1, lblNonTCP),
		asm.LoadInd(asm.R0, asm.R7, 3, asm.Byte), // next header
		asm.Add.Reg(asm.R7, asm.R8),
	)
	lenCheck(false, 0, lblNonTCP)
	e.emit(
		asm.JEq.Imm(asm.R0, 4, lblIP4(l+1)),
		asm.JEq.Imm(asm.R0, 41, lblIP6(l+1)),
		asm.Ja.Label(lblNonTCP),
	)
}
