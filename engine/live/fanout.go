package live

import (
	"github.com/fastsniff/fastsniff/bpf"
	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
	"golang.org/x/sys/unix"
)

// fanoutMode is the PACKET_FANOUT mode of the capture's sockets: by
// default an eBPF program hashing the innermost flow (bpf.FanoutProgram),
// so that the flows inside one tunnel spread over the workers; with
// Config.OuterFanout the kernel's hash of the outer headers.
func fanoutMode(cfg *Config) int {
	if cfg.OuterFanout {
		return afpacket.FanoutHash
	}
	return afpacket.FanoutEBPF
}

// setFanout loads the fanout program for the link type and gives it to the
// group (nothing with Config.OuterFanout). A group of one socket needs no
// program (without one the group hands every packet to its first socket),
// which saves its verification (about 10 ms, bpf.BenchmarkLoad).
func setFanout(cfg *Config, rings []*afpacket.Ring, link decode.LinkType) error {
	if cfg.OuterFanout || len(rings) == 1 {
		return nil
	}
	f, err := bpf.LoadFanout(int(link))
	if err != nil {
		if isPerm(err) {
			return &afpacket.CapError{Step: "loading the eBPF fanout program", Cap: "CAP_BPF (or CAP_SYS_ADMIN)", Err: unix.EPERM}
		}
		return err
	}
	defer f.Close() // the group keeps its own reference
	return rings[0].SetFanoutProgram(f.FD())
}
