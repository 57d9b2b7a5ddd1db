package reassembly

// AddUnseen adds to direction d's Packets and Bytes what a capture counted
// without passing it on: the segments of a bypassed connection that a
// kernel program dropped and only counted (bpf.BypassDrop). Call it before
// the Handler's Closed reads the stats, so that a live conn log counts the
// same packets as one made from a saved file. Table-wide Stats are not
// changed (they count what the Table saw). It does nothing on a Conn
// already recycled.
func (c *Conn) AddUnseen(d Dir, packets, bytes uint64) {
	if c.half == nil {
		return
	}
	s := &c.half[d&1].stats
	s.Packets += packets
	s.Bytes += bytes
}
