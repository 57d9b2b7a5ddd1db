// Package flowgen makes test captures with known answers: pcap files of
// many concurrent TCP connections with pseudo-random payloads, impaired on
// demand (loss, capture loss, reordering, duplicates, overlaps with the
// same or different bytes, one-sided and midstream capture, sequence
// wrap, port reuse, RST, tiny and oversized segments, VLAN tags, IPv6),
// together with the truth: the bytes a reassembler must deliver for each
// direction of each connection, and the gaps it must report.
//
// The same Config (Seed included) always gives byte-identical output.
// Payloads are not stored: each is computed from the connection's seed and
// the stream offset when it is needed, so a capture of millions of packets
// costs a few tens of bytes per packet in memory (set Config.DigestOnly to
// drop the truth's copy of the bytes as well).
//
// # The connections
//
// Each connection opens with SYN, SYN+ACK, ACK (SYNs carry an MSS option,
// no window scaling), then alternates messages: the client's bytes, then
// the server's, split in one to three messages per direction. A message
// goes out in flights of one to ten segments (at most 64 KiB, the
// unscaled window); the receiver ACKs every second segment and the end of
// each flight, cumulatively, like a real stack, sometimes letting its last
// ACK ride on its own next data segment. Every data segment carries ACK.
// Connections close with FIN from each side, each ACKed (the FIN sometimes
// rides on the last data segment), unless they end with a RST or stay
// open. Timestamps start at Epoch and advance by microseconds within
// flights and by the connection's round-trip time (100 µs to 40 ms)
// between sides; Config.Concurrency connections run at once, so the
// capture interleaves them.
//
// # The truth
//
// Stream offsets count from the byte after the SYN's sequence number, as
// in package reassembly. The truth follows that package's defaults:
// ACK-gated delivery and "first copy wins" on overlaps.
//
//   - Clean, Loss (retransmitted), Reorder, Duplicate, OverlapSame: every
//     byte sent is delivered.
//   - OverlapDiff: the conflicting copy always comes after the true one in
//     capture order (and usually before the ACK), so the true bytes are
//     the truth.
//   - CaptureLoss: the segment is missing from the capture but ACKed by the
//     receiver: its bytes are a Gap (adjacent ones merged); no other copy
//     of them is ever captured.
//   - OneSided: only one direction's packets are captured; its bytes are
//     all expected (a reassembler delivers them unACKed), the other
//     direction is marked Unseen and expects no bytes.
//   - Midstream: every packet before a message boundary (the handshake at
//     least) is missing; the first captured packet is a data segment with
//     ACK, and each direction's offset 0 is its first byte after the cut.
//     The first message after the cut of each direction is not impaired.
//   - RST: sent at a message boundary once everything is ACKed; nothing
//     follows it. Open: everything is ACKed, no FIN or RST.
//   - PortReuse: a connection closed with FIN is followed, 2 to 4 s later,
//     by a new one on the same 4-tuple and VLAN with new ISNs.
//
// Addresses come from documentation and benchmark ranges (198.18.0.0/15,
// 203.0.113.0/24, 2001:db8::/32); MAC addresses are derived from them.
package flowgen
