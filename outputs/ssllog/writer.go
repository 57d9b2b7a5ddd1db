package ssllog

import (
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"unsafe"

	"github.com/fastsniff/fastsniff/outputs/connlog"
	"github.com/fastsniff/fastsniff/outputs/internal/jsonw"
	"github.com/fastsniff/fastsniff/outputs/internal/pipe"
	"github.com/fastsniff/fastsniff/tlsinfo"
)

var errFraming = errors.New("ssllog: bad record framing (internal error)")

// writer is the goroutine that formats and writes the lines.
type writer struct {
	out     io.Writer
	stamper interface{ SetStamp(int64) } // out's, with Options.Capture
	closer  io.Closer
	lines   []byte
	info    tlsinfo.Info
}

func (w *writer) consume(b []byte, stamp int64) error {
	w.lines = w.lines[:0]
	for len(b) > 0 {
		op, id, arg, p, rest, ok := pipe.NextRecord(b)
		if !ok || op != opLine || int(arg)+infoSize > len(p) {
			return errFraming
		}
		b = rest
		prefix := p[:arg]
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&w.info)), infoSize), p[arg:int(arg)+infoSize])
		leaf := p[int(arg)+infoSize:]
		w.lines = appendLine(w.lines, prefix, &w.info, leaf, id == 1)
	}
	if w.stamper != nil {
		w.stamper.SetStamp(stamp)
	}
	_, err := w.out.Write(w.lines)
	return err
}

func (w *writer) finish(err error) error {
	if w.closer != nil {
		if cerr := w.closer.Close(); err == nil {
			return cerr
		}
	}
	return nil
}

// appendLine formats one connection's line (FIELDS.md).
func appendLine(b, prefix []byte, i *tlsinfo.Info, leaf []byte, bypassed bool) []byte {
	b = append(b, `{"ts":`...)
	b = connlog.AppendTime(b, i.TS)
	b = append(b, prefix...)
	sv := i.Flags&(tlsinfo.FlagServerHello|tlsinfo.FlagHRR) != 0
	if sv {
		b = appendStr(b, "version", tlsinfo.VersionName(i.Version))
		if i.Flags&tlsinfo.FlagSSLv2 != 0 {
			b = appendStr(b, "cipher", tlsinfo.SSLv2CipherName(i.Cipher2))
		} else {
			b = appendStr(b, "cipher", tlsinfo.CipherName(i.Cipher))
		}
	}
	if i.Curve != 0 {
		b = appendStr(b, "curve", tlsinfo.CurveName(i.Curve))
	}
	if sni := i.SNI(); len(sni) > 0 {
		b = append(b, `,"server_name":`...)
		b = jsonw.AppendString(b, string(sni))
	}
	b = appendBool(b, "resumed", i.Flags&tlsinfo.FlagResumed != 0)
	if i.Flags&tlsinfo.FlagAlert != 0 {
		b = appendStr(b, "last_alert", tlsinfo.AlertName(i.LastAlert))
	}
	if p := i.ALPN(); len(p) > 0 {
		b = append(b, `,"next_protocol":`...)
		b = jsonw.AppendString(b, string(p))
	}
	b = appendBool(b, "established", i.Established())
	b = append(b, `,"ssl_history":`...)
	b = jsonw.AppendString(b, string(i.History()))
	first := true
	i.ClientALPN(func(p []byte) {
		if first {
			b = append(b, `,"client_alpn":[`...)
		} else {
			b = append(b, ',')
		}
		first = false
		b = jsonw.AppendString(b, string(p))
	})
	if !first {
		b = append(b, ']')
	}
	if vs := i.ClientVersions(); len(vs) > 0 {
		b = append(b, `,"client_versions":[`...)
		for k, v := range vs {
			if k > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, tlsinfo.VersionName(v))
		}
		b = append(b, ']')
	}
	if i.Flags&tlsinfo.FlagCert != 0 {
		b = appendCert(b, leaf)
	}
	if i.Flags&tlsinfo.FlagClientCert != 0 {
		b = appendBool(b, "client_cert", true)
	}
	if i.Flags&tlsinfo.FlagJA3 != 0 {
		b = appendStr(b, "ja3", hex.EncodeToString(i.JA3[:]))
		b = appendStr(b, "ja4", string(i.JA4[:]))
	}
	if i.Flags&tlsinfo.FlagJA3S != 0 {
		b = appendStr(b, "ja3s", hex.EncodeToString(i.JA3S[:]))
	}
	var notes []string
	if i.Flags&tlsinfo.FlagTooLarge != 0 {
		notes = append(notes, "message_too_large")
	}
	if i.Flags&tlsinfo.FlagMalformed != 0 {
		notes = append(notes, "malformed")
	}
	if i.Flags&tlsinfo.FlagDesync != 0 {
		notes = append(notes, "desync")
	}
	if i.Flags&tlsinfo.FlagCertTruncated != 0 {
		notes = append(notes, "cert_too_large")
	}
	if len(notes) > 0 {
		b = append(b, `,"anomalies":[`...)
		for k, n := range notes {
			if k > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, n)
		}
		b = append(b, ']')
	}
	if bypassed {
		b = appendBool(b, "bypassed", true)
	}
	return append(b, "}\n"...)
}

// appendCert adds the leaf certificate's names and validity (read by
// leafFields; names as Zeek prints them).
func appendCert(b, leaf []byte) []byte {
	issuer, subject, nb, na, ok := leafFields(leaf)
	if !ok {
		return appendStr(b, "cert_error", "unparsable leaf certificate")
	}
	if dn, ok := formatDN(subject); ok {
		b = append(b, `,"subject":`...)
		b = jsonw.AppendString(b, dn)
	}
	if dn, ok := formatDN(issuer); ok {
		b = append(b, `,"issuer":`...)
		b = jsonw.AppendString(b, dn)
	}
	b = append(b, `,"not_valid_before":`...)
	b = strconv.AppendInt(b, nb.Unix(), 10)
	b = append(b, `.000000,"not_valid_after":`...)
	b = strconv.AppendInt(b, na.Unix(), 10)
	return append(b, ".000000"...)
}

func appendStr(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return jsonw.AppendString(b, v)
}

func appendBool(b []byte, k string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}
