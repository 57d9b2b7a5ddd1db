package pcapfile

// ReadBatchInto is ReadBatch with an arena the caller owns: the packets'
// Data are copied into arena (grown by allocating when too small) instead
// of the Reader's own, so they stay valid for as long as the caller keeps
// the returned arena — across later ReadBatchInto calls with other arenas.
// A pipeline that hands batches to other goroutines cycles a few arenas
// this way. (Uncompressed pcap files are read straight into the arena, so
// their packets are copied once, from the file; the records a batch does
// not take are moved to the next call's arena.)
func (r *Reader) ReadBatchInto(batch []Packet, arena []byte) (int, []byte, error) {
	own := r.arena
	r.arena = arena[:0]
	n, err := r.ReadBatch(batch)
	arena = r.arena
	r.arena = own
	return n, arena, err
}
