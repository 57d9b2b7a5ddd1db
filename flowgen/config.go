package flowgen

import "fmt"

// Config chooses what Generate makes. The zero value is a clean capture of
// 100 connections; every impairment is off until its probability is set.
//
// Probabilities marked "per connection" are drawn once for each connection;
// those marked "per segment" are drawn for each eligible data segment (one
// that is not the first segment of a midstream connection's direction, not
// a FIN and not itself a retransmission). At most one of Loss, CaptureLoss,
// Duplicate, OverlapSame and OverlapDiff applies to a segment, so their
// sum should stay at or below 1.
type Config struct {
	// Seed makes the output: the same Config gives byte-identical output.
	Seed int64
	// Conns is the number of connections (default 100). Ignored when
	// Packets is set.
	Conns int
	// Packets, when > 0, adds connections until the capture holds at least
	// this many packets.
	Packets int
	// MinBytes and MaxBytes bound the bytes each direction of a connection
	// sends; the size is log-uniform in between (many small, a few large).
	// Default 0 and 32 KiB.
	MinBytes, MaxBytes int
	// LargeShare (per connection) is the share of connections whose
	// server sends a large response: log-uniform between MaxBytes and
	// LargeMaxBytes (default 4 MiB).
	LargeShare    float64
	LargeMaxBytes int
	// MSS is the usual segment size (default 1460).
	MSS int
	// Concurrency is how many connections are open at once (default 64).
	Concurrency int
	// IPv6Share and VLANShare are the shares of connections (per
	// connection) that run over IPv6 and that carry one 802.1Q tag.
	IPv6Share, VLANShare float64
	// AsymVLAN (per tagged connection) tags the server's packets
	// differently from the client's, as a SPAN port that adds or strips
	// a tag on one side does: untagged or another id, half each.
	AsymVLAN float64

	// Reorder (per segment) swaps a segment with the next one of its
	// flight, on the wire and in the capture.
	Reorder float64
	// Duplicate (per segment) captures a segment twice.
	Duplicate float64
	// OverlapSame (per segment) adds a retransmission with the same bytes
	// that covers the tail of the previous segment and the head of this one.
	OverlapSame float64
	// OverlapDiff (per segment) adds, right after the segment, a copy of
	// part of it with every byte different. The first captured copy (the
	// true one) is the truth.
	OverlapDiff float64
	// Loss (per segment) loses a segment before the capture point and the
	// receiver; it is retransmitted after the receiver's ACK: truth complete.
	Loss float64
	// CaptureLoss (per segment) drops a segment from the capture only: the
	// receiver ACKs it, the truth has a gap there.
	CaptureLoss float64

	// OneSided (per connection) captures only one direction's packets,
	// chosen at random; the other direction's truth is empty.
	OneSided float64
	// Midstream (per connection) leaves out every packet before a message
	// boundary (the handshake at least); each direction's truth starts at
	// its next byte after the cut.
	Midstream float64
	// WrapISN (per connection) puts both ISNs just below 2^32 so that the
	// sequence numbers wrap inside the data.
	WrapISN float64
	// PortReuse (per connection) follows a connection that closed with FIN
	// by a second one on the same 4-tuple, 2 to 4 seconds later, with new
	// ISNs.
	PortReuse float64
	// RST (per connection) ends a connection with a RST (with ACK) from one
	// side at a message boundary, all data ACKed; nothing follows it.
	RST float64
	// Open (per connection) leaves a connection without FIN or RST: all
	// data is ACKed but the capture ends before the close.
	Open float64
	// Tiny (per segment) makes a segment 1 to 8 bytes long.
	Tiny float64
	// Oversize (per segment) makes a segment 2 to 44 MSS long, up to the
	// 64 KiB an IP packet can hold (as with TSO/GRO).
	Oversize float64

	// DigestOnly leaves Stream.Data nil (SHA256 and the rest are still
	// filled in): for large captures, where payloads are made on the fly
	// when written.
	DigestOnly bool

	// Encap wraps every packet in a tunnel (Packet.AppendFrame); EncapID
	// is its identifier (VNI, GRE key, ERSPAN session, MPLS label, PPPoE
	// session, TEID). The truth does not change. EncapPPPoE and EncapGTPU
	// have a 16-bit length: Oversize must be 0 with them.
	Encap   Encap
	EncapID uint32
}

// Default values of the zero fields.
const (
	DefaultConns       = 100
	DefaultMaxBytes    = 32 << 10
	DefaultMSS         = 1460
	DefaultConcurrency = 64
)

// Bench returns the configuration behind `flowgen -preset bench`: a
// realistic mix for benchmarks of at least packets packets (1M when
// packets <= 0): many small connections (up to 64 KiB each way), a few
// downloads of up to 8 MiB, a little loss,
// reordering and duplication, a few midstream and RST connections, some
// IPv6 and VLAN traffic. Truth is kept as digests only.
func Bench(seed int64, packets int) Config {
	if packets <= 0 {
		packets = 1 << 20
	}
	return Config{
		Seed:          seed,
		Packets:       packets,
		MinBytes:      0,
		MaxBytes:      64 << 10,
		LargeShare:    0.002,
		LargeMaxBytes: 8 << 20,
		MSS:           1448,
		Concurrency:   2000,
		IPv6Share:     0.2,
		VLANShare:     0.1,
		Reorder:       0.005,
		Duplicate:     0.002,
		OverlapSame:   0.001,
		Loss:          0.005,
		CaptureLoss:   0.0005,
		Midstream:     0.01,
		PortReuse:     0.01,
		RST:           0.03,
		Tiny:          0.01,
		Oversize:      0.01,
		DigestOnly:    true,
	}
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Conns <= 0 {
		c.Conns = DefaultConns
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MinBytes < 0 || c.MinBytes > c.MaxBytes {
		return c, fmt.Errorf("flowgen: MinBytes %d not in [0, MaxBytes=%d]", c.MinBytes, c.MaxBytes)
	}
	if c.LargeMaxBytes <= 0 {
		c.LargeMaxBytes = 4 << 20
	}
	c.LargeMaxBytes = max(c.LargeMaxBytes, c.MaxBytes)
	if c.MSS <= 0 {
		c.MSS = DefaultMSS
	}
	if c.MSS > maxSegment {
		return c, fmt.Errorf("flowgen: MSS %d above %d", c.MSS, maxSegment)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"IPv6Share", c.IPv6Share}, {"VLANShare", c.VLANShare}, {"AsymVLAN", c.AsymVLAN}, {"LargeShare", c.LargeShare}, {"Reorder", c.Reorder},
		{"Duplicate", c.Duplicate}, {"OverlapSame", c.OverlapSame}, {"OverlapDiff", c.OverlapDiff},
		{"Loss", c.Loss}, {"CaptureLoss", c.CaptureLoss}, {"OneSided", c.OneSided},
		{"Midstream", c.Midstream}, {"WrapISN", c.WrapISN}, {"PortReuse", c.PortReuse},
		{"RST", c.RST}, {"Open", c.Open}, {"Tiny", c.Tiny}, {"Oversize", c.Oversize},
	} {
		if !(p.v >= 0 && p.v <= 1) {
			return c, fmt.Errorf("flowgen: %s = %v is not a probability", p.name, p.v)
		}
	}
	if c.Encap >= numEncaps {
		return c, fmt.Errorf("flowgen: unknown Encap %d", c.Encap)
	}
	if c.Encap.lengthField16() && c.Oversize > 0 {
		return c, fmt.Errorf("flowgen: Encap %v cannot carry Oversize segments (16-bit length)", c.Encap)
	}
	if s := c.Loss + c.CaptureLoss + c.Duplicate + c.OverlapSame + c.OverlapDiff; s > 1 {
		return c, fmt.Errorf("flowgen: Loss+CaptureLoss+Duplicate+OverlapSame+OverlapDiff = %v > 1", s)
	}
	return c, nil
}

// Mixed returns a configuration that exercises every impairment a little:
// 200 connections, each kind of damage on a few percent of the segments or
// connections. The truth keeps the delivered bytes.
func Mixed(seed int64) Config {
	return Config{
		Seed:        seed,
		Conns:       200,
		MaxBytes:    64 << 10,
		Concurrency: 32,
		IPv6Share:   0.3,
		VLANShare:   0.2,
		Reorder:     0.03,
		Duplicate:   0.02,
		OverlapSame: 0.02,
		OverlapDiff: 0.02,
		Loss:        0.02,
		CaptureLoss: 0.01,
		OneSided:    0.05,
		Midstream:   0.05,
		WrapISN:     0.1,
		PortReuse:   0.05,
		RST:         0.05,
		Open:        0.03,
		Tiny:        0.02,
		Oversize:    0.02,
	}
}

// Sample returns a small Config (a dozen connections) for fuzz tests: bit
// i of mask turns on the i-th of IPv6Share, VLANShare, Reorder, Duplicate,
// OverlapSame, OverlapDiff, Loss, CaptureLoss, OneSided, Midstream,
// WrapISN, PortReuse, RST, Open, Tiny and Oversize, each with a
// probability of (level%128+1)/256; the per-segment kinds are scaled down
// together when they would add up past 1.
func Sample(seed int64, mask uint32, level uint8) Config {
	p := float64(level%128+1) / 256
	cfg := Config{Seed: seed, Conns: 12, MaxBytes: 20_000 + int(level)*100, Concurrency: 4}
	fields := []*float64{
		&cfg.IPv6Share, &cfg.VLANShare, &cfg.Reorder, &cfg.Duplicate, &cfg.OverlapSame,
		&cfg.OverlapDiff, &cfg.Loss, &cfg.CaptureLoss, &cfg.OneSided, &cfg.Midstream,
		&cfg.WrapISN, &cfg.PortReuse, &cfg.RST, &cfg.Open, &cfg.Tiny, &cfg.Oversize,
	}
	for i, fp := range fields {
		if mask&(1<<i) != 0 {
			*fp = p
		}
	}
	seg := []*float64{&cfg.Loss, &cfg.CaptureLoss, &cfg.Duplicate, &cfg.OverlapSame, &cfg.OverlapDiff}
	sum := 0.0
	for _, fp := range seg {
		sum += *fp
	}
	if sum > 1 {
		for _, fp := range seg {
			*fp /= sum
		}
	}
	return cfg
}
