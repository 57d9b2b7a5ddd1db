package tlsinfo

// Flags say what a connection's handshake showed.
type Flags uint32

// Flag values.
const (
	FlagTLS              Flags = 1 << iota // a direction started with a TLS (or SSLv2) record
	FlagClientHello                        // a ClientHello was parsed
	FlagServerHello                        // a ServerHello (not an HRR) was parsed: Version, Cipher valid
	FlagHRR                                // a HelloRetryRequest was seen
	FlagSSLv2Hello                         // the first ClientHello came in SSLv2 record format
	FlagSSLv2                              // an SSLv2 SERVER-HELLO: the connection speaks SSLv2
	FlagResumed                            // session resumed (ID echoed, PSK accepted, or abbreviated handshake)
	FlagEstablished                        // the handshake completed (see Info.Established)
	FlagComplete                           // nothing more to learn: the bypass point
	FlagCert                               // the server's leaf certificate is in ConnState.Leaf
	FlagClientCert                         // the client sent a non-empty Certificate
	FlagTooLarge                           // a handshake message over Config.MaxMessage was skipped
	FlagMalformed                          // a handshake message did not parse
	FlagDesync                             // a direction lost the record framing (bad header, gap) and was abandoned
	FlagAlert                              // a plaintext alert was seen: LastAlert
	FlagTicketOffered                      // the client offered a session ticket
	FlagSessionIDOffered                   // the client offered a session ID
	FlagPSKOffered                         // the client offered a TLS 1.3 pre-shared key
	FlagCertTruncated                      // the leaf certificate was longer than Config.MaxMessage: not kept
	FlagJA3                                // JA3 and JA4 are set (TLS-format ClientHello)
	FlagJA3S                               // JA3S is set
	FlagJA4Retry                           // JA4Retry is set (a second ClientHello)
	FlagPrelude                            // TLS started after a plaintext prelude (STARTTLS, a tunnel)
	flagCCSClient
	flagCCSServer
	flagAppClient // client application data after the ServerHello
	flagAppServer
	flagServerCertMsg // the server sent a Certificate or ServerHelloDone (not abbreviated)
)

// Sizes of Info's fixed fields.
const (
	maxSNI      = 255
	maxALPN     = 255
	maxCALPN    = 256
	maxVersions = 16
	maxHist     = 64
	ja4Len      = 36
)

// Info is what the handshake of one connection showed. It is a value: a
// copy keeps everything (the certificate is in ConnState.Leaf).
type Info struct {
	Flags Flags
	// TS is the capture time (Unix ns) of the first TLS bytes delivered.
	TS int64
	// HelloVersion is the first ClientHello's legacy_version (the SSLv2
	// hello's version for an SSLv2-format hello).
	HelloVersion uint16
	// Version is the negotiated version: the ServerHello's
	// supported_versions, else its version field; 0x0002 for SSLv2.
	Version uint16
	// Cipher is the suite the ServerHello chose (SSLv2: see Cipher2).
	Cipher uint16
	// Cipher2 is the first SSLv2 cipher spec of an SSLv2 SERVER-HELLO.
	Cipher2 uint32
	// Curve is the key exchange group: the ServerHello's key_share (TLS
	// 1.3, an HRR's if no later one) or the ServerKeyExchange's named curve.
	Curve uint16
	// LastAlert is the description of the last plaintext alert (FlagAlert).
	LastAlert uint8
	// ClientHellos and ServerHellos count the hellos parsed (HRR included).
	ClientHellos, ServerHellos uint8
	// JA3, JA3S are MD5 digests (Salesforce); JA4 is the first
	// ClientHello's JA4, JA4Retry the second's (after an HRR).
	JA3, JA3S      [16]byte
	JA4, JA4Retry  [ja4Len]byte
	clientVersions [maxVersions]uint16
	nVersions      uint8
	sniLen         uint8
	alpnLen        uint8
	histN          uint8
	calpnLen       uint16
	sni            [maxSNI]byte
	alpn           [maxALPN]byte
	calpn          [maxCALPN]byte
	hist           [maxHist]byte
}

// SNI is the first ClientHello's server name (empty when absent).
func (i *Info) SNI() []byte { return i.sni[:i.sniLen] }

// ALPN is the protocol the server chose (empty when none).
func (i *Info) ALPN() []byte { return i.alpn[:i.alpnLen] }

// ClientALPN calls f with each protocol the first ClientHello offered, in
// order (at most 256 bytes of the list are kept).
func (i *Info) ClientALPN(f func(p []byte)) {
	b := i.calpn[:i.calpnLen]
	for len(b) > 0 {
		n := int(b[0])
		if 1+n > len(b) {
			return
		}
		f(b[1 : 1+n])
		b = b[1+n:]
	}
}

// ClientVersions are the first ClientHello's supported_versions, in
// order, GREASE removed (empty when it had none).
func (i *Info) ClientVersions() []uint16 { return i.clientVersions[:i.nVersions] }

// History is the handshake in Zeek's ssl_history letters: upper case from
// the client, lower case from the server (at most 64).
func (i *Info) History() []byte { return i.hist[:i.histN] }

// Established reports whether the handshake completed: TLS 1.2 and older,
// ChangeCipherSpec both ways; TLS 1.3, application data both ways after
// the ServerHello; in both cases without a plaintext fatal alert first.
func (i *Info) Established() bool { return i.Flags&FlagEstablished != 0 }

// Complete reports whether nothing more can be learnt from the
// connection's bytes: the handshake is over (established, or SSLv2 past
// its hellos). A bypass may start here.
func (i *Info) Complete() bool { return i.Flags&FlagComplete != 0 }

func (i *Info) addHist(c byte) {
	if int(i.histN) < maxHist {
		i.hist[i.histN] = c
		i.histN++
	}
}
