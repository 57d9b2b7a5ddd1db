package bpf

import (
	"fmt"

	netbpf "golang.org/x/net/bpf"
)

// Matcher applies the capture program's decision to saved packets (-r):
// the same non-TCP drop as the kernel program, then the same compiled
// filter, run by an interpreter with libpcap's bpf_filter semantics, so -r
// and -i accept the same expressions with the same result. It does not
// allocate and is safe for concurrent use once configured.
type Matcher struct {
	// AllowNonTCP, like Config.AllowNonTCP; set it before use.
	AllowNonTCP bool

	linkType int
	prog     []netbpf.RawInstruction
}

func supportedLinkType(lt int) bool {
	switch lt {
	case DLTNull, DLTEN10MB, DLTRaw, DLTLoop, DLTLinuxSLL, DLTIPv4, DLTIPv6, DLTLinuxSLL2:
		return true
	}
	return false
}

// NewMatcher compiles expr with CompileOfflineFilter ("" matches every
// TCP packet and needs no libpcap) for a saved file's link type: a DLT_
// value or the pcap-file LINKTYPE_ value (101 is raw IP).
func NewMatcher(expr string, linkType int) (*Matcher, error) {
	lt := normLinkType(linkType)
	if !supportedLinkType(lt) {
		return nil, fmt.Errorf("bpf: link type %d not supported (null, ethernet, raw, loop, linux-sll, linux-sll2, ipv4, ipv6)", linkType)
	}
	prog, err := CompileOfflineFilter(expr, lt, DefaultSnaplen)
	if err != nil {
		return nil, err
	}
	return &Matcher{linkType: lt, prog: prog}, nil
}

// NewMatcherProgram is NewMatcher for an already compiled (and here
// validated) classic program; nil matches every TCP packet.
func NewMatcherProgram(prog []netbpf.RawInstruction, linkType int) (*Matcher, error) {
	lt := normLinkType(linkType)
	if !supportedLinkType(lt) {
		return nil, fmt.Errorf("bpf: link type %d not supported", linkType)
	}
	if prog != nil {
		if err := Validate(prog); err != nil {
			return nil, err
		}
	}
	return &Matcher{linkType: lt, prog: prog}, nil
}

// Match reports whether a whole (uncut) frame passes.
func (m *Matcher) Match(pkt []byte) bool { return m.MatchLen(pkt, len(pkt)) }

// MatchLen reports whether a frame passes; pkt is the captured part and
// wireLen the original length (pcap's caplen and len), which BPF_LEN
// ("len", "greater", "less") uses, as tcpdump -r does.
func (m *Matcher) MatchLen(pkt []byte, wireLen int) bool {
	if !m.AllowNonTCP && Inspect(pkt, m.linkType).Class == NonTCP {
		return false
	}
	if m.prog == nil {
		return true
	}
	return run(m.prog, pkt, uint32(wireLen)) != 0
}
