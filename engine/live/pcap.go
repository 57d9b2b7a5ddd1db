package live

import (
	"time"

	"github.com/fastsniff/fastsniff/engine/afpacket"
	"github.com/fastsniff/fastsniff/engine/decode"
)

// writePcap copies f into the worker's pcap Sink (which never waits),
// putting a stripped VLAN tag back in front of the ethertype.
func (lw *lworker) writePcap(f *afpacket.Frame) {
	wire := max(f.Len, len(f.Data))
	if tci, tpid, tagged := f.VLAN(); tagged && lw.link == decode.LinkEthernet {
		lw.pcap.WriteTagged(f.TS, f.Data, wire, tpid, tci)
		return
	}
	lw.pcap.Write(lw.link, f.TS, f.Data, wire)
}

// sendPcap hands the worker's buffer of frames to the pcap writer (when
// idle and at the end).
func (lw *lworker) sendPcap() {
	if lw.pcap != nil {
		lw.pcap.Flush()
	}
}

// pcapHold is how long a worker fills its pcap buffer before handing it
// over: not one mostly empty buffer per ring block (every block timeout),
// which would leave the writer little slack.
const pcapHold = 100 * time.Millisecond
