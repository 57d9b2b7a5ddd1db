package http1

// Config bounds the parser. The zero value of a field means its default.
type Config struct {
	// MaxLineLen is the longest start line, header line or chunk-size
	// line, CR included (default 8192). A longer header line is dropped
	// (FlagHeaderLimit); a longer start line is not a start line.
	MaxLineLen int
	// MaxHeaders is how many header (or trailer) fields a message keeps
	// (default 128); further fields are parsed for framing but not kept
	// (FlagHeaderLimit).
	MaxHeaders int
	// MaxHeaderBytes bounds the wire size of a header block, start line
	// included, and of a trailer block (default 32768). Past it the
	// message is given up as incomplete (FlagHeaderLimit|FlagIncomplete)
	// and the parser resynchronises. It is raised to MaxLineLen if lower.
	MaxHeaderBytes int
	// MaxPipeline is how many requests may wait for their responses on a
	// connection (default 32). Requests beyond it are delivered unpaired
	// (FlagOverflow); their responses arrive as orphans, and pairing of
	// later transactions stays in step.
	MaxPipeline int
	// MaxSniff is how many bytes of a connection picked up midstream (or
	// starting with a gap) are scanned for a message start before it is
	// declared not HTTP (default 16384). A connection seen from its start
	// is decided on its first line.
	MaxSniff int
	// MaxHold is how many client bytes are held back after a CONNECT or
	// Upgrade request until its response says whether the connection
	// turns into a tunnel (default 16384). Past it the held bytes are
	// dropped and the client side resynchronises.
	MaxHold int
}

// Defaults.
const (
	DefaultMaxLineLen     = 8192
	DefaultMaxHeaders     = 128
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxPipeline    = 32
	DefaultMaxSniff       = 16 << 10
	DefaultMaxHold        = 16 << 10
)

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxLineLen, DefaultMaxLineLen)
	def(&c.MaxHeaders, DefaultMaxHeaders)
	def(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&c.MaxPipeline, DefaultMaxPipeline)
	def(&c.MaxSniff, DefaultMaxSniff)
	def(&c.MaxHold, DefaultMaxHold)
	if c.MaxLineLen < 32 {
		c.MaxLineLen = 32
	}
	if c.MaxHeaderBytes < c.MaxLineLen+1 {
		c.MaxHeaderBytes = c.MaxLineLen + 1
	}
	return c
}
