package bpf

import (
	"encoding/binary"
	"fmt"

	netbpf "golang.org/x/net/bpf"
)

// Classic BPF opcode fields (linux/filter.h, pcap/bpf.h).
const (
	clsLD   = 0x00
	clsLDX  = 0x01
	clsST   = 0x02
	clsSTX  = 0x03
	clsALU  = 0x04
	clsJMP  = 0x05
	clsRET  = 0x06
	clsMISC = 0x07

	szW = 0x00
	szH = 0x08
	szB = 0x10

	modeIMM = 0x00
	modeABS = 0x20
	modeIND = 0x40
	modeMEM = 0x60
	modeLEN = 0x80
	modeMSH = 0xa0

	aluADD = 0x00
	aluSUB = 0x10
	aluMUL = 0x20
	aluDIV = 0x30
	aluOR  = 0x40
	aluAND = 0x50
	aluLSH = 0x60
	aluRSH = 0x70
	aluNEG = 0x80
	aluMOD = 0x90
	aluXOR = 0xa0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJGT  = 0x20
	jmpJGE  = 0x30
	jmpJSET = 0x40

	srcK = 0x00
	srcX = 0x08

	retK = 0x00
	retA = 0x10

	miscTAX = 0x00
	miscTXA = 0x80

	// memWords is the number of cBPF scratch memory cells (BPF_MEMWORDS).
	memWords = 16
	// MaxInsns is the longest classic program accepted (BPF_MAXINSNS, as
	// the kernel's classic checker).
	MaxInsns = 4096

	// skfAdOff is SKF_AD_OFF: absolute loads at or above it read Linux
	// ancillary data instead of packet bytes.
	skfAdOff = 0xfffff000
)

// Linux ancillary-data offsets (added to SKF_AD_OFF), linux/filter.h.
const (
	skfAdProtocol       = 0
	skfAdPktType        = 4
	skfAdIfindex        = 8
	skfAdMark           = 20
	skfAdQueue          = 24
	skfAdRxHash         = 32
	skfAdCPU            = 36
	skfAdAluXorX        = 40
	skfAdVlanTag        = 44
	skfAdVlanTagPresent = 48
	skfAdRandom         = 56
	skfAdVlanTPID       = 60
)

func opSize(code uint16) uint32 {
	switch code & 0x18 {
	case szW:
		return 4
	case szH:
		return 2
	case szB:
		return 1
	}
	return 0
}

// Validate checks that prog is a classic BPF program this package can run
// and translate: known opcodes only (those libpcap emits, as listed in
// pcap-filter's bpf_filter.c), forward jumps inside the program, scratch
// memory indices below 16, no division by a constant zero, constant shifts
// below 32, and no path that runs off the end without a RET. It returns the
// reachable instructions: libpcap's optimiser normally leaves none
// unreachable, but the eBPF verifier rejects dead code, so the translator
// skips them.
func Validate(prog []netbpf.RawInstruction) error {
	_, err := reachable(prog)
	return err
}

func reachable(prog []netbpf.RawInstruction) ([]bool, error) {
	n := len(prog)
	if n == 0 {
		return nil, fmt.Errorf("bpf: empty classic BPF program")
	}
	if n > MaxInsns {
		return nil, fmt.Errorf("bpf: classic BPF program has %d instructions, more than %d", n, MaxInsns)
	}
	reach := make([]bool, n)
	reach[0] = true
	target := func(i int, off uint64) (int, error) {
		t := uint64(i) + 1 + off
		if t >= uint64(n) {
			return 0, fmt.Errorf("bpf: instruction %d jumps past the end of the program", i)
		}
		return int(t), nil
	}
	for i, ins := range prog {
		if !reach[i] {
			continue
		}
		code := ins.Op
		next := true
		switch code & 0x07 {
		case clsLD:
			switch code {
			case clsLD | szW | modeABS, clsLD | szH | modeABS, clsLD | szB | modeABS,
				clsLD | szW | modeIND, clsLD | szH | modeIND, clsLD | szB | modeIND,
				clsLD | szW | modeLEN, clsLD | szW | modeIMM:
			case clsLD | szW | modeMEM:
				if ins.K >= memWords {
					return nil, fmt.Errorf("bpf: instruction %d: scratch memory index %d out of range", i, ins.K)
				}
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported load opcode %#02x", i, code)
			}
		case clsLDX:
			switch code {
			case clsLDX | szW | modeIMM, clsLDX | szW | modeLEN, clsLDX | szB | modeMSH:
			case clsLDX | szW | modeMEM:
				if ins.K >= memWords {
					return nil, fmt.Errorf("bpf: instruction %d: scratch memory index %d out of range", i, ins.K)
				}
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported load opcode %#02x", i, code)
			}
		case clsST, clsSTX:
			if code&^0x07 != 0 {
				return nil, fmt.Errorf("bpf: instruction %d: unsupported store opcode %#02x", i, code)
			}
			if ins.K >= memWords {
				return nil, fmt.Errorf("bpf: instruction %d: scratch memory index %d out of range", i, ins.K)
			}
		case clsALU:
			if code&^0xff != 0 {
				return nil, fmt.Errorf("bpf: instruction %d: unsupported ALU opcode %#02x", i, code)
			}
			op := code & 0xf0
			switch op {
			case aluADD, aluSUB, aluMUL, aluOR, aluAND, aluXOR:
			case aluDIV, aluMOD:
				if code&srcX == srcK && ins.K == 0 {
					return nil, fmt.Errorf("bpf: instruction %d: division by constant zero", i)
				}
			case aluLSH, aluRSH:
				if code&srcX == srcK && ins.K >= 32 {
					return nil, fmt.Errorf("bpf: instruction %d: shift by constant %d (>= 32)", i, ins.K)
				}
			case aluNEG:
				if code&srcX != 0 {
					return nil, fmt.Errorf("bpf: instruction %d: unsupported ALU opcode %#02x", i, code)
				}
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported ALU opcode %#02x", i, code)
			}
		case clsJMP:
			if code&^0xff != 0 {
				return nil, fmt.Errorf("bpf: instruction %d: unsupported jump opcode %#02x", i, code)
			}
			switch code & 0xf0 {
			case jmpJA:
				if code&srcX != 0 {
					return nil, fmt.Errorf("bpf: instruction %d: unsupported jump opcode %#02x", i, code)
				}
				t, err := target(i, uint64(ins.K))
				if err != nil {
					return nil, err
				}
				reach[t] = true
			case jmpJEQ, jmpJGT, jmpJGE, jmpJSET:
				t, err := target(i, uint64(ins.Jt))
				if err != nil {
					return nil, err
				}
				f, err := target(i, uint64(ins.Jf))
				if err != nil {
					return nil, err
				}
				reach[t], reach[f] = true, true
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported jump opcode %#02x", i, code)
			}
			next = false
		case clsRET:
			switch code {
			case clsRET | retK, clsRET | retA:
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported return opcode %#02x", i, code)
			}
			next = false
		case clsMISC:
			switch code {
			case clsMISC | miscTAX, clsMISC | miscTXA:
			default:
				return nil, fmt.Errorf("bpf: instruction %d: unsupported misc opcode %#02x", i, code)
			}
		}
		if next {
			if i+1 >= n {
				return nil, fmt.Errorf("bpf: instruction %d: program runs off its end without a return", i)
			}
			reach[i+1] = true
		}
	}
	return reach, nil
}

// run executes a validated classic program on pkt the way libpcap's
// bpf_filter() does for tcpdump -r: loads are bounded by the captured bytes
// (len(pkt)), BPF_LEN is the original wire length, an out-of-range load or
// a division by X == 0 rejects the packet, shifts by X >= 32 give 0, and
// Linux ancillary loads (which have no meaning for a saved packet) are
// out-of-range loads. It does not allocate.
func run(prog []netbpf.RawInstruction, pkt []byte, wireLen uint32) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	buflen := uint64(len(pkt))
	for pc := 0; ; pc++ {
		ins := &prog[pc]
		k := ins.K
		switch ins.Op {
		case clsRET | retK:
			return k
		case clsRET | retA:
			return a

		case clsLD | szW | modeABS:
			if uint64(k)+4 > buflen {
				return 0
			}
			a = binary.BigEndian.Uint32(pkt[k:])
		case clsLD | szH | modeABS:
			if uint64(k)+2 > buflen {
				return 0
			}
			a = uint32(binary.BigEndian.Uint16(pkt[k:]))
		case clsLD | szB | modeABS:
			if uint64(k) >= buflen {
				return 0
			}
			a = uint32(pkt[k])
		case clsLD | szW | modeIND:
			off := uint64(x) + uint64(k)
			if off+4 > buflen {
				return 0
			}
			a = binary.BigEndian.Uint32(pkt[off:])
		case clsLD | szH | modeIND:
			off := uint64(x) + uint64(k)
			if off+2 > buflen {
				return 0
			}
			a = uint32(binary.BigEndian.Uint16(pkt[off:]))
		case clsLD | szB | modeIND:
			off := uint64(x) + uint64(k)
			if off >= buflen {
				return 0
			}
			a = uint32(pkt[off])
		case clsLDX | szB | modeMSH:
			if uint64(k) >= buflen {
				return 0
			}
			x = uint32(pkt[k]&0xf) << 2
		case clsLD | szW | modeLEN:
			a = wireLen
		case clsLDX | szW | modeLEN:
			x = wireLen
		case clsLD | szW | modeIMM:
			a = k
		case clsLDX | szW | modeIMM:
			x = k
		case clsLD | szW | modeMEM:
			a = mem[k]
		case clsLDX | szW | modeMEM:
			x = mem[k]
		case clsST:
			mem[k] = a
		case clsSTX:
			mem[k] = x

		case clsJMP | jmpJA:
			pc += int(k)
		case clsJMP | jmpJEQ | srcK:
			pc += jmp(a == k, ins)
		case clsJMP | jmpJGT | srcK:
			pc += jmp(a > k, ins)
		case clsJMP | jmpJGE | srcK:
			pc += jmp(a >= k, ins)
		case clsJMP | jmpJSET | srcK:
			pc += jmp(a&k != 0, ins)
		case clsJMP | jmpJEQ | srcX:
			pc += jmp(a == x, ins)
		case clsJMP | jmpJGT | srcX:
			pc += jmp(a > x, ins)
		case clsJMP | jmpJGE | srcX:
			pc += jmp(a >= x, ins)
		case clsJMP | jmpJSET | srcX:
			pc += jmp(a&x != 0, ins)

		case clsALU | aluADD | srcX:
			a += x
		case clsALU | aluSUB | srcX:
			a -= x
		case clsALU | aluMUL | srcX:
			a *= x
		case clsALU | aluDIV | srcX:
			if x == 0 {
				return 0
			}
			a /= x
		case clsALU | aluMOD | srcX:
			if x == 0 {
				return 0
			}
			a %= x
		case clsALU | aluAND | srcX:
			a &= x
		case clsALU | aluOR | srcX:
			a |= x
		case clsALU | aluXOR | srcX:
			a ^= x
		case clsALU | aluLSH | srcX:
			if x < 32 {
				a <<= x
			} else {
				a = 0
			}
		case clsALU | aluRSH | srcX:
			if x < 32 {
				a >>= x
			} else {
				a = 0
			}
		case clsALU | aluADD | srcK:
			a += k
		case clsALU | aluSUB | srcK:
			a -= k
		case clsALU | aluMUL | srcK:
			a *= k
		case clsALU | aluDIV | srcK:
			a /= k
		case clsALU | aluMOD | srcK:
			a %= k
		case clsALU | aluAND | srcK:
			a &= k
		case clsALU | aluOR | srcK:
			a |= k
		case clsALU | aluXOR | srcK:
			a ^= k
		case clsALU | aluLSH | srcK:
			a <<= k
		case clsALU | aluRSH | srcK:
			a >>= k
		case clsALU | aluNEG:
			a = -a

		case clsMISC | miscTAX:
			x = a
		case clsMISC | miscTXA:
			a = x
		default:
			// Unreachable for a validated program.
			return 0
		}
	}
}

func jmp(cond bool, ins *netbpf.RawInstruction) int {
	if cond {
		return int(ins.Jt)
	}
	return int(ins.Jf)
}
