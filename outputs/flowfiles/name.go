package flowfiles

import (
	"net/netip"

	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/reassembly"
)

// Suffixes of the two directions' files.
const (
	SuffixC2S = ".c2s" // bytes sent by the client (Handler.Sent)
	SuffixS2C = ".s2c" // bytes sent by the server (Handler.Received)
)

// AppendName appends the file name of one direction of a connection:
//
//	<uid>-<client addr>.<client port>-<server addr>.<server port>.c2s|.s2c
//
// uid is the connection log's uid of the same connection (connlog.UID of
// Conn.ID), so a file is found from its log line and back. IPv4 addresses
// are dotted quads; IPv6 addresses are in RFC 5952 form with every ':'
// replaced by '_' (':' is not allowed in file names everywhere). Ports are
// decimal without padding. Every byte of a name is in [0-9A-Za-z._-]:
// nothing in a name comes from packet contents, so no name can escape the
// directory, and '-' separates the three parts unambiguously (neither
// form of address contains '-'). The VLAN ids are not in the name; they
// are part of Conn.ID and so of the uid.
func AppendName(b []byte, id uint64, client, server netip.AddrPort, d reassembly.Dir) []byte {
	b = connlog.AppendUID(b, id)
	b = append(b, '-')
	b = appendEndpoint(b, client)
	b = append(b, '-')
	b = appendEndpoint(b, server)
	if d == reassembly.FromClient {
		return append(b, SuffixC2S...)
	}
	return append(b, SuffixS2C...)
}

// Name returns AppendName as a string.
func Name(id uint64, client, server netip.AddrPort, d reassembly.Dir) string {
	return string(AppendName(nil, id, client, server, d))
}

// ConnName returns the file name of direction d of c.
func ConnName(c *reassembly.Conn, d reassembly.Dir) string {
	return Name(c.ID(), c.Client(), c.Server(), d)
}

func appendEndpoint(b []byte, ap netip.AddrPort) []byte {
	n := len(b)
	b = ap.Addr().WithZone("").AppendTo(b)
	for i := n; i < len(b); i++ {
		if b[i] == ':' {
			b[i] = '_'
		}
	}
	b = append(b, '.')
	return jsonw.AppendUint(b, uint64(ap.Port()))
}
