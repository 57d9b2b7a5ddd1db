package reassembly

// seg is a buffered piece of one direction's stream.
type seg struct {
	off  uint64 // stream offset of data[0]
	data []byte // the bytes still to deliver: a window into buf
	buf  []byte // the pooled buffer that holds data (returned on release)
}

// half is one direction of a connection: the bytes one endpoint sends, the
// ACKs the other endpoint sends for them, and what is buffered in between.
type half struct {
	init    bool   // next/nextOff established (SYN, first data or first ACK)
	next    Seq    // sequence number of the next byte to deliver
	nextOff uint64 // its stream offset
	isn     Seq    // the SYN's sequence number, when seen
	synSeen bool

	ackValid bool
	ack      Seq // highest ACK the peer sent for this direction

	maxValid bool
	maxEnd   Seq // highest sequence number + length seen

	finSeen bool
	finOff  uint64 // stream offset of the FIN
	done    bool   // delivered up to the FIN

	segs     []seg
	buffered int // bytes of buffer capacity held by segs

	stats DirStats
}
