// Package bpf is the kernel side of the live capture engine: one eBPF
// socket-filter program (BPF_PROG_TYPE_SOCKET_FILTER), built instruction by
// instruction with github.com/cilium/ebpf/asm (no C, no clang, nothing
// generated), attached with SO_ATTACH_BPF to every AF_PACKET socket. For
// each packet it
//
//  1. parses Ethernet (the VLAN tag the kernel moved to skb metadata, then
//     up to MaxVLANs tags in total) or raw IP, IPv4 (IHL, fragments) or
//     IPv6 (up to 4 extension headers), opens up to MaxTunnels
//     encapsulations (MPLS, PPPoE, GRE, ERSPAN, VXLAN, GENEVE, GTP-U, IP in
//     IP; tunnel.go) to reach the innermost TCP header, and drops what is
//     not TCP unless Config.AllowNonTCP (see Class);
//  2. runs the user's pcap-filter(7) expression: compiled to classic BPF by
//     the system's libpcap (dlopen'ed with purego, no cgo) and translated
//     to eBPF inside the same program (Translate);
//  3. looks the flow up in an LRU hash map of bypassed flows (FlowKey, one
//     entry per direction, written by userspace with Program.Bypass) and
//     returns only the headers of their packets, or (drop mode) drops
//     those without SYN/FIN/RST and counts them in the entry;
//  4. counts seen / passed / filtered / bypassed / non-TCP / dropped packets in a
//     per-CPU array (Program.Counters).
//
// Matcher gives saved files (-r) the same decision in userspace.
//
// # VLAN tags
//
// libpcap compiles for DLT_EN10MB with the tags inside the frame ("vlan"
// tests ether[12:2] == 0x8100/0x88a8/0x9100 and shifts later offsets by
// 4). On an AF_PACKET socket the kernel has already moved the outer tag
// into skb->vlan_tci before the filter runs, and libpcap (like the capture
// engine) puts it back into the frame it hands to the user. The translated
// filter therefore runs on that virtual frame: when __sk_buff.vlan_present
// is set, every packet load is remapped — offsets 0..11 read the real
// data, 12..15 the saved TPID (__sk_buff.vlan_proto) and TCI
// (__sk_buff.vlan_tci), offsets from 16 on the real data 4 bytes earlier —
// and BPF_LEN is 4 more. Constant offsets are remapped at translation time,
// X-relative (LD_IND) ones at run time. So "vlan 6", "vlan and tcp port
// 80" or "ether[14:2] & 0xfff = 6" match the same packets live as in
// tcpdump -r of a capture of the same wire, and tcpdump's own quirk that
// "tcp" does not match a tagged packet is kept. Raw-IP programs
// (Config.LinkType DLTRaw) see the data as is. Linux ancillary loads
// (SKF_AD_VLAN_TAG etc.), which libpcap emits only for a live Linux
// handle, are translated to the raw __sk_buff fields, like the kernel's
// classic-BPF converter does; CompileFilter never produces them.
//
// # Bypass
//
// A bypassed packet is cut to HeaderLen: the link header, all VLAN tags in
// the data, the IP header (IPv4 options, IPv6 extension headers) and the
// TCP header with options — computed on the real data (the stripped tag is
// not in it; userspace re-inserts it from the packet's metadata). Userspace
// still sees every segment's flags, sequence and acknowledgement numbers,
// window, options, and from the IP length the payload length, so
// connection state, byte counts and FIN/RST handling go on while payload
// copying stops. Fragments are never cut (userspace must reassemble
// them), nor are packets without a complete TCP header.
//
// In drop mode (BypassWith(k, BypassDrop), bypassdrop.go) the packets
// userspace does not need are not handed over at all: counted per
// direction in the map entry (packets, payload bytes), read with
// TakeBypass at the connection's close.
//
// # Semantics of the classic filter
//
// Translated code and the Matcher's interpreter follow libpcap's
// bpf_filter: A, X and M[] start at 0, an out-of-range packet load or a
// division by X == 0 rejects the packet (the kernel program then counts it
// as Filtered), a shift by X >= 32 gives 0, X+k does not wrap. A program's
// non-zero return value is the number of bytes to keep.
package bpf
