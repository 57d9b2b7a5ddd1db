package ssllog

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

// formatDN writes a distinguished name as Zeek's x509.log does (OpenSSL's
// RFC 2253 form): the last RDN first, OpenSSL's short attribute names,
// "+" inside a multi-valued RDN, ",", "+", "\"", "\\", "<", ">", ";"
// escaped with a backslash. raw is the DER Name.
func formatDN(raw []byte) (string, bool) {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return "", false
	}
	var sb strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			sb.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				sb.WriteByte('+')
			}
			sb.WriteString(attrName(atv.Type))
			sb.WriteByte('=')
			if v, ok := atv.Value.(string); ok {
				escapeValue(&sb, v)
			} else {
				escapeValue(&sb, fmt.Sprint(atv.Value))
			}
		}
	}
	return sb.String(), true
}

func escapeValue(sb *strings.Builder, v string) {
	for k := 0; k < len(v); k++ {
		c := v[k]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case (c == ' ' || c == '#') && k == 0, c == ' ' && k == len(v)-1:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		default:
			sb.WriteByte(c)
		}
	}
}

// attrName is OpenSSL's short name of an attribute type, else its dotted
// OID.
func attrName(oid asn1.ObjectIdentifier) string {
	if len(oid) == 4 && oid[0] == 2 && oid[1] == 5 && oid[2] == 4 {
		switch oid[3] {
		case 3:
			return "CN"
		case 4:
			return "SN"
		case 5:
			return "serialNumber"
		case 6:
			return "C"
		case 7:
			return "L"
		case 8:
			return "ST"
		case 9:
			return "street"
		case 10:
			return "O"
		case 11:
			return "OU"
		case 12:
			return "title"
		case 15:
			return "businessCategory"
		case 17:
			return "postalCode"
		case 42:
			return "GN"
		case 46:
			return "dnQualifier"
		}
	}
	if oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) {
		return "emailAddress"
	}
	if oid.Equal(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}) {
		return "DC"
	}
	if oid.Equal(asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}) {
		return "UID"
	}
	if len(oid) == 11 && oid[0] == 1 && oid[6] == 311 && oid[7] == 60 {
		// Microsoft EV jurisdiction attributes 1.3.6.1.4.1.311.60.2.1.x
		switch oid[10] {
		case 1:
			return "jurisdictionL"
		case 2:
			return "jurisdictionST"
		case 3:
			return "jurisdictionC"
		}
	}
	return oid.String()
}
