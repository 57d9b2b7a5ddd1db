package bpf

import (
	"errors"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	netbpf "golang.org/x/net/bpf"
)

var (
	bpfOnce sync.Once
	bpfErr  error
)

// requireBPF skips kernel tests where eBPF socket filters cannot be loaded.
func requireBPF(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load eBPF programs (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)")
	}
	bpfOnce.Do(func() {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type:         ebpf.SocketFilter,
			License:      "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		})
		if err != nil {
			bpfErr = err
			return
		}
		defer p.Close()
		_, bpfErr = p.Run(&ebpf.RunOptions{Data: make([]byte, 14)})
	})
	if bpfErr != nil {
		t.Skipf("eBPF socket filters with BPF_PROG_TEST_RUN unavailable: %v", bpfErr)
	}
}

// maxTestRun caps BPF_PROG_TEST_RUN input (the kernel takes about a page).
const maxTestRun = 3600

// testRun runs a socket filter on pkt with BPF_PROG_TEST_RUN. The kernel
// builds the skb with eth_type_trans, which pulls the first 14 bytes before
// a socket filter runs (on a real AF_PACKET socket the filter sees the
// frame from its first byte), so a dummy Ethernet header goes in front.
func testRun(t testing.TB, p *ebpf.Program, pkt []byte) uint32 {
	t.Helper()
	data := make([]byte, 14, 14+len(pkt))
	copy(data, []byte{0x02, 0, 0, 0, 0, 0xfe, 0x02, 0, 0, 0, 0, 0xfd, 0x88, 0xb5})
	data = append(data, pkt...)
	ret, err := p.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	return ret
}

func loadTranslated(t testing.TB, prog []netbpf.RawInstruction) *ebpf.Program {
	t.Helper()
	insns, err := Translate(prog)
	if err != nil {
		t.Fatalf("Translate: %v", err)
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL", Instructions: insns})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier: %+v\nclassic: %v\neBPF:\n%v", ve, prog, insns)
		}
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func capData(d []byte) []byte {
	if len(d) > maxTestRun {
		return d[:maxTestRun]
	}
	return d
}

// TestTranslateExpressions: the translated eBPF program returns exactly
// what the classic program returns (x/net/bpf's VM where it can run it,
// and the interpreter) on every corpus packet, for every test expression.
func TestTranslateExpressions(t *testing.T) {
	requireBPF(t)
	needLibpcap(t)
	byLT := map[int][][]byte{}
	for _, c := range testCaptures {
		f := loadCapture(t, c)
		lt := normLinkType(f.LinkType)
		if lt == DLTIPv4 {
			lt = DLTRaw // raw IPv4 packets are valid DLT_RAW packets
		}
		if lt != DLTEN10MB && lt != DLTRaw {
			continue
		}
		for _, r := range f.Records {
			byLT[lt] = append(byLT[lt], capData(r.Data))
		}
	}
	compared, programs := 0, 0
	for _, lt := range []int{DLTEN10MB, DLTRaw} {
		for _, e := range testExprs {
			prog, err := CompileFilter(e, lt, 0)
			if err != nil {
				continue
			}
			programs++
			p := loadTranslated(t, prog)
			vm, vmErr := newXNetVM(prog)
			for i, d := range byLT[lt] {
				got := testRun(t, p, d)
				want := run(prog, d, uint32(len(d)))
				if got != want {
					t.Errorf("linktype %d %q: packet %d: eBPF %d, interpreter %d", lt, e, i, got, want)
				}
				if vmErr == nil {
					v, err := vm.Run(d)
					if err != nil || uint32(v) != got {
						t.Errorf("linktype %d %q: packet %d: eBPF %d, x/net VM %d (%v)", lt, e, i, got, v, err)
					}
				}
				compared++
			}
		}
	}
	t.Logf("%d programs, %d packet runs compared", programs, compared)
	if programs < 60 {
		t.Errorf("only %d programs compiled", programs)
	}
}

// Hand-written programs for every opcode and edge case libpcap can emit.
func asmProg(t testing.TB, ins ...netbpf.Instruction) []netbpf.RawInstruction {
	t.Helper()
	raw, err := netbpf.Assemble(ins)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func opcodePrograms(t testing.TB) map[string][]netbpf.RawInstruction {
	A, X := netbpf.RegA, netbpf.RegX
	alu := func(op netbpf.ALUOp, v uint32) netbpf.Instruction { return netbpf.ALUOpConstant{Op: op, Val: v} }
	aluX := func(op netbpf.ALUOp) netbpf.Instruction { return netbpf.ALUOpX{Op: op} }
	progs := map[string][]netbpf.RawInstruction{
		"alu-k": asmProg(t,
			netbpf.LoadAbsolute{Off: 14, Size: 4},
			alu(netbpf.ALUOpAdd, 0xfffffff0), alu(netbpf.ALUOpSub, 7), alu(netbpf.ALUOpMul, 0x9e3779b9),
			netbpf.StoreScratch{Src: A, N: 1},
			alu(netbpf.ALUOpDiv, 3), alu(netbpf.ALUOpMod, 1000003), alu(netbpf.ALUOpAnd, 0x8000ffff),
			alu(netbpf.ALUOpOr, 0x80000001), alu(netbpf.ALUOpXor, 0xdeadbeef),
			alu(netbpf.ALUOpShiftLeft, 3), alu(netbpf.ALUOpShiftRight, 1),
			netbpf.NegateA{},
			netbpf.LoadScratch{Dst: X, N: 1}, aluX(netbpf.ALUOpXor),
			netbpf.RetA{}),
		"alu-x": asmProg(t,
			netbpf.LoadAbsolute{Off: 20, Size: 1}, netbpf.TAX{},
			netbpf.LoadAbsolute{Off: 16, Size: 4},
			aluX(netbpf.ALUOpAdd), aluX(netbpf.ALUOpSub), aluX(netbpf.ALUOpMul),
			aluX(netbpf.ALUOpOr), aluX(netbpf.ALUOpAnd), aluX(netbpf.ALUOpXor),
			aluX(netbpf.ALUOpShiftLeft), // X up to 255: shifts >= 32 give 0
			netbpf.StoreScratch{Src: A, N: 2},
			netbpf.LoadAbsolute{Off: 16, Size: 4},
			aluX(netbpf.ALUOpShiftRight),
			netbpf.LoadScratch{Dst: X, N: 2}, aluX(netbpf.ALUOpAdd),
			netbpf.TAX{},
			netbpf.LoadAbsolute{Off: 22, Size: 2},
			aluX(netbpf.ALUOpDiv), // X may be 0: reject
			netbpf.RetA{}),
		"mod-x": asmProg(t,
			netbpf.LoadAbsolute{Off: 21, Size: 1}, alu(netbpf.ALUOpAnd, 3), netbpf.TAX{},
			netbpf.LoadAbsolute{Off: 14, Size: 2},
			aluX(netbpf.ALUOpMod), // X == 0 in a quarter of the packets
			alu(netbpf.ALUOpAdd, 1),
			netbpf.RetA{}),
		"scratch": asmProg(t,
			netbpf.LoadConstant{Dst: X, Val: 0x12345678},
			netbpf.StoreScratch{Src: X, N: 15},
			netbpf.LoadAbsolute{Off: 0, Size: 4},
			netbpf.StoreScratch{Src: A, N: 0},
			netbpf.LoadScratch{Dst: A, N: 15},
			netbpf.LoadScratch{Dst: X, N: 0},
			aluX(netbpf.ALUOpXor),
			netbpf.LoadScratch{Dst: X, N: 7}, // never stored: 0
			aluX(netbpf.ALUOpOr),
			netbpf.TAX{}, netbpf.TXA{},
			netbpf.RetA{}),
		"jumps": asmProg(t,
			netbpf.LoadAbsolute{Off: 12, Size: 4},
			netbpf.JumpIf{Cond: netbpf.JumpGreaterThan, Val: 0x80000000, SkipTrue: 1},
			netbpf.RetConstant{Val: 1},
			netbpf.JumpIf{Cond: netbpf.JumpGreaterOrEqual, Val: 0xc0000000, SkipFalse: 1},
			netbpf.RetConstant{Val: 2},
			netbpf.JumpIf{Cond: netbpf.JumpBitsSet, Val: 0x00010000, SkipTrue: 1, SkipFalse: 0},
			netbpf.RetConstant{Val: 3},
			netbpf.LoadConstant{Dst: X, Val: 0xfffffffe},
			netbpf.JumpIfX{Cond: netbpf.JumpEqual, SkipTrue: 5},
			netbpf.JumpIfX{Cond: netbpf.JumpGreaterThan, SkipFalse: 1},
			netbpf.RetConstant{Val: 4},
			netbpf.JumpIfX{Cond: netbpf.JumpBitsSet, SkipTrue: 1},
			netbpf.RetConstant{Val: 5},
			netbpf.Jump{Skip: 1},
			netbpf.RetConstant{Val: 6},
			netbpf.JumpIfX{Cond: netbpf.JumpGreaterOrEqual, SkipTrue: 1},
			netbpf.RetConstant{Val: 7},
			netbpf.RetConstant{Val: 0xffffffff}),
		"loads": asmProg(t,
			netbpf.LoadMemShift{Off: 14},
			netbpf.LoadIndirect{Off: 14, Size: 2},
			netbpf.StoreScratch{Src: A, N: 3},
			netbpf.LoadIndirect{Off: 10, Size: 4},
			netbpf.StoreScratch{Src: A, N: 4},
			netbpf.LoadIndirect{Off: 11, Size: 1},
			netbpf.LoadScratch{Dst: X, N: 3}, aluX(netbpf.ALUOpAdd),
			netbpf.LoadScratch{Dst: X, N: 4}, aluX(netbpf.ALUOpAdd),
			netbpf.LoadExtension{Num: netbpf.ExtLen}, aluX(netbpf.ALUOpAdd),
			netbpf.LoadAbsolute{Off: 60, Size: 2}, // beyond short packets: reject
			netbpf.RetA{}),
		"len-x": asmProg(t,
			netbpf.LoadAbsolute{Off: 13, Size: 1}, // 12..15 straddle the VLAN slot
			netbpf.StoreScratch{Src: A, N: 9},
			netbpf.LoadAbsolute{Off: 11, Size: 4},
			netbpf.LoadScratch{Dst: X, N: 9},
			aluX(netbpf.ALUOpAdd),
			netbpf.TAX{},
			netbpf.LoadAbsolute{Off: 0, Size: 1},
			netbpf.JumpIf{Cond: netbpf.JumpBitsSet, Val: 1, SkipFalse: 2},
			netbpf.LoadIndirect{Off: 0xfffffff0, Size: 1}, // X+k beyond 32 bits: reject, no wrap
			netbpf.RetA{},
			netbpf.TXA{},
			netbpf.RetA{}),
		"ret-k": asmProg(t, netbpf.RetConstant{Val: 0x80000000}),
	}
	// LDX LEN, which x/net/bpf cannot express.
	progs["ldx-len"] = []netbpf.RawInstruction{
		{Op: clsLDX | szW | modeLEN},
		{Op: clsMISC | miscTXA},
		{Op: clsALU | aluSUB | srcK, K: 14},
		{Op: clsRET | retA},
	}
	return progs
}

func testPackets(r *rand.Rand, n int) [][]byte {
	var pkts [][]byte
	for i := 0; i < n; i++ {
		l := 1 + r.Intn(120)
		if i%5 == 0 {
			l = r.Intn(30)
		}
		b := make([]byte, l)
		r.Read(b)
		pkts = append(pkts, b)
	}
	return pkts
}

func TestTranslateOpcodes(t *testing.T) {
	requireBPF(t)
	r := rand.New(rand.NewSource(1))
	pkts := testPackets(r, 200)
	for name, prog := range opcodePrograms(t) {
		p := loadTranslated(t, prog)
		zero, nonzero := 0, 0
		for i, d := range pkts {
			got := testRun(t, p, d)
			want := run(prog, d, uint32(len(d)))
			if got != want {
				t.Errorf("%s: packet %d (len %d): eBPF %#x, interpreter %#x", name, i, len(d), got, want)
			}
			if want == 0 {
				zero++
			} else {
				nonzero++
			}
		}
		if name != "ret-k" && (zero == 0 || nonzero == 0) {
			t.Errorf("%s: weak test: %d zero, %d non-zero results", name, zero, nonzero)
		}
	}
}

// randomProgram builds a valid classic program of random instructions:
// forward jumps only, loads around the packet end, every ALU op.
func randomProgram(r *rand.Rand) []netbpf.RawInstruction {
	n := 4 + r.Intn(40)
	prog := make([]netbpf.RawInstruction, n)
	sizes := []uint16{szW, szH, szB}
	aluOpsAll := []uint16{aluADD, aluSUB, aluMUL, aluDIV, aluOR, aluAND, aluLSH, aluRSH, aluMOD, aluXOR}
	bigK := func() uint32 {
		if r.Intn(3) == 0 {
			return r.Uint32()
		}
		return uint32(r.Intn(70))
	}
	for i := 0; i < n-1; i++ {
		room := n - 2 - i // largest forward skip that stays inside
		skip := func() uint8 {
			if room <= 0 {
				return 0
			}
			return uint8(r.Intn(min(room, 255) + 1))
		}
		var ins netbpf.RawInstruction
		switch r.Intn(13) {
		case 0, 1:
			ins = netbpf.RawInstruction{Op: clsLD | sizes[r.Intn(3)] | modeABS, K: uint32(r.Intn(80))}
		case 2:
			ins = netbpf.RawInstruction{Op: clsLD | sizes[r.Intn(3)] | modeIND, K: uint32(r.Intn(40))}
		case 3:
			if r.Intn(2) == 0 {
				ins = netbpf.RawInstruction{Op: clsLDX | szB | modeMSH, K: uint32(r.Intn(40))}
			} else {
				ins = netbpf.RawInstruction{Op: clsLDX | szW | modeIMM, K: bigK()}
			}
		case 4:
			ops := []uint16{clsLD | szW | modeMEM, clsLDX | szW | modeMEM, clsST, clsSTX}
			ins = netbpf.RawInstruction{Op: ops[r.Intn(4)], K: uint32(r.Intn(memWords))}
		case 5, 6:
			op := aluOpsAll[r.Intn(len(aluOpsAll))]
			k := bigK()
			switch op {
			case aluDIV, aluMOD:
				if k == 0 {
					k = 7
				}
			case aluLSH, aluRSH:
				k %= 32
			}
			ins = netbpf.RawInstruction{Op: clsALU | op | srcK, K: k}
		case 7:
			ins = netbpf.RawInstruction{Op: clsALU | aluOpsAll[r.Intn(len(aluOpsAll))] | srcX}
		case 8, 9:
			jops := []uint16{jmpJEQ, jmpJGT, jmpJGE, jmpJSET}
			src := uint16(srcK)
			if r.Intn(3) == 0 {
				src = srcX
			}
			ins = netbpf.RawInstruction{Op: clsJMP | jops[r.Intn(4)] | src, Jt: skip(), Jf: skip(), K: bigK()}
		case 10:
			ins = netbpf.RawInstruction{Op: clsJMP | jmpJA, K: uint32(skip())}
		case 11:
			if r.Intn(2) == 0 {
				ins = netbpf.RawInstruction{Op: clsRET | retK, K: bigK()}
			} else {
				ins = netbpf.RawInstruction{Op: clsRET | retA}
			}
		case 12:
			ops := []uint16{clsLD | szW | modeLEN, clsLDX | szW | modeLEN, clsMISC | miscTAX, clsMISC | miscTXA, clsALU | aluNEG, clsLD | szW | modeIMM}
			ins = netbpf.RawInstruction{Op: ops[r.Intn(len(ops))], K: bigK()}
		}
		prog[i] = ins
	}
	prog[n-1] = netbpf.RawInstruction{Op: clsRET | retA}
	return prog
}

func TestTranslateRandom(t *testing.T) {
	requireBPF(t)
	r := rand.New(rand.NewSource(42))
	pkts := testPackets(r, 40)
	programs := 150
	if testing.Short() {
		programs = 30
	}
	for n := 0; n < programs; n++ {
		prog := randomProgram(r)
		if err := Validate(prog); err != nil {
			t.Fatalf("generator made an invalid program: %v\n%v", err, prog)
		}
		p := loadTranslated(t, prog)
		for i, d := range pkts {
			if got, want := testRun(t, p, d), run(prog, d, uint32(len(d))); got != want {
				t.Fatalf("program %d, packet %d (len %d): eBPF %#x, interpreter %#x\n%v", n, i, len(d), got, want, prog)
			}
		}
		p.Close()
	}
}

func TestTranslateAncillary(t *testing.T) {
	requireBPF(t)
	ld := func(off uint32) netbpf.RawInstruction {
		return netbpf.RawInstruction{Op: clsLD | szW | modeABS, K: skfAdOff + off}
	}
	ret := netbpf.RawInstruction{Op: clsRET | retA}
	pkt := make([]byte, 40)
	cases := []struct {
		name string
		prog []netbpf.RawInstruction
		want uint32
	}{
		// The test skb's protocol is the dummy header's ethertype.
		{"protocol", []netbpf.RawInstruction{ld(skfAdProtocol), ret}, 0x88b5},
		{"vlan present", []netbpf.RawInstruction{ld(skfAdVlanTagPresent), {Op: clsALU | aluADD | srcK, K: 5}, ret}, 5},
		{"vlan tag", []netbpf.RawInstruction{ld(skfAdVlanTag), {Op: clsALU | aluADD | srcK, K: 6}, ret}, 6},
		{"xor x", []netbpf.RawInstruction{{Op: clsLDX | szW | modeIMM, K: 0xff}, {Op: clsLD | szW | modeIMM, K: 0xf0f}, ld(skfAdAluXorX), ret}, 0xff0},
	}
	for _, c := range cases {
		p := loadTranslated(t, c.prog)
		if got := testRun(t, p, pkt); got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}
	// The rest only need to load and run.
	for _, off := range []uint32{skfAdPktType, skfAdIfindex, skfAdMark, skfAdQueue, skfAdRxHash, skfAdCPU, skfAdRandom, skfAdVlanTPID} {
		p := loadTranslated(t, []netbpf.RawInstruction{ld(off), {Op: clsRET | retK, K: 1}})
		if got := testRun(t, p, pkt); got != 1 {
			t.Errorf("SKF_AD_OFF+%d: got %d", off, got)
		}
	}
	if _, err := Translate([]netbpf.RawInstruction{ld(12), ret}); err == nil || !strings.Contains(err.Error(), "ancillary") {
		t.Errorf("SKF_AD_NLATTR: want an unsupported-ancillary error, got %v", err)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string][]netbpf.RawInstruction{
		"empty":          nil,
		"no ret":         {{Op: clsLD | szW | modeIMM}},
		"jump past end":  {{Op: clsJMP | jmpJEQ, Jt: 1}, {Op: clsRET}},
		"ja past end":    {{Op: clsJMP | jmpJA, K: 1}, {Op: clsRET}},
		"mem index":      {{Op: clsST, K: 16}, {Op: clsRET}},
		"ldx mem index":  {{Op: clsLDX | szW | modeMEM, K: 99}, {Op: clsRET}},
		"div by zero":    {{Op: clsALU | aluDIV | srcK}, {Op: clsRET}},
		"mod by zero":    {{Op: clsALU | aluMOD | srcK}, {Op: clsRET}},
		"shift by 32":    {{Op: clsALU | aluLSH | srcK, K: 32}, {Op: clsRET}},
		"ret x":          {{Op: clsRET | 0x08}},
		"ld h imm":       {{Op: clsLD | szH | modeIMM}, {Op: clsRET}},
		"ldx h msh":      {{Op: clsLDX | szH | modeMSH}, {Op: clsRET}},
		"unknown alu":    {{Op: clsALU | 0xb0}, {Op: clsRET}},
		"unknown misc":   {{Op: clsMISC | 0x10}, {Op: clsRET}},
		"jset ja x":      {{Op: clsJMP | jmpJA | srcX}, {Op: clsRET}},
		"unknown jmp":    {{Op: clsJMP | 0x50}, {Op: clsRET}, {Op: clsRET}},
		"high op bits":   {{Op: 0x100 | clsRET}},
		"neg with x bit": {{Op: clsALU | aluNEG | srcX}, {Op: clsRET}},
	}
	for name, prog := range cases {
		if err := Validate(prog); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Translate(prog); err == nil {
			t.Errorf("%s: translated", name)
		}
	}
	// Unreachable instructions are fine (and skipped by the translator).
	ok := []netbpf.RawInstruction{{Op: clsRET | retK, K: 1}, {Op: 0xffff}, {Op: clsRET}}
	if err := Validate(ok); err != nil {
		t.Errorf("unreachable garbage: %v", err)
	}
}
