// Package tlsinfo reads TLS handshakes from the two byte streams of a TCP
// connection, as package reassembly delivers them: versions, cipher, key
// exchange group, server name, ALPN, resumption, the server's leaf
// certificate, and the JA3, JA3S and JA4 fingerprints, for an ssl.log.
//
// A Parser holds one worker's limits, scratch space and counters; a Conn
// holds one connection's state and its Info. Feed takes each direction's
// bytes in order as they come, in pieces of any size.
//
// # Recognition
//
// TLS is recognised by content: a direction whose first five bytes are a
// plausible record header (a handshake record from the client, a
// handshake or alert record from the server, version 3.x, a length up to
// 2^14+2048) or an SSLv2 CLIENT-HELLO / SERVER-HELLO (2-byte header) is
// read. A direction that starts otherwise is scanned, for its first
// Config.MaxPrelude bytes, for a hello record after a plaintext prelude
// (STARTTLS in SMTP, IMAP, POP3, FTP; LDAP StartTLS; MySQL; HTTP CONNECT;
// SOCKS4/5: see prelude.go), then ignored.
//
// # Framing and limits
//
// Records are followed header by header without copying their bodies.
// Handshake messages are cut across records and segments, and a record
// may hold several: the messages the parser reads (ClientHello,
// ServerHello, Certificate, ServerKeyExchange) are parsed in place when
// one call holds them whole, and are otherwise copied into one buffer per
// direction of at most Config.MaxMessage bytes (taken from the Parser's
// free list and given back when the message ends). A longer hello is
// skipped and flagged (FlagTooLarge, Stats.TooLarge); of a longer
// Certificate the leaf is still read when it fits. Other messages are
// only named in the history. A bad record header or a gap abandons the
// direction (FlagDesync). In the steady state Feed allocates nothing.
//
// # What is visible
//
// TLS 1.2 and older: everything up to ChangeCipherSpec in each direction
// (the Finished after it is encrypted). TLS 1.3: the hellos (a
// HelloRetryRequest and the second ClientHello too) and nothing after the
// ServerHello: the certificate is encrypted. SSLv2: the two hellos.
//
// The handshake is complete (Info.Complete, FlagComplete) once
// ChangeCipherSpec was seen both ways (TLS 1.2 and older), once the client
// sends an encrypted record after the ServerHello (TLS 1.3), or after an
// SSLv2 SERVER-HELLO: Feed then ignores the connection, and a capture may
// stop reassembling it.
package tlsinfo
