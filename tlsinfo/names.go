package tlsinfo

import "strconv"

// VersionName is a version as Zeek's ssl.log prints it: SSLv2, SSLv3,
// TLSv10 ... TLSv13, DTLSv10/12/13, TLSv13-draftN, else unknown-N.
func VersionName(v uint16) string {
	switch v {
	case 0x0002:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv10"
	case 0x0302:
		return "TLSv11"
	case 0x0303:
		return "TLSv12"
	case 0x0304:
		return "TLSv13"
	case 0xfeff:
		return "DTLSv10"
	case 0xfefd:
		return "DTLSv12"
	case 0xfefc:
		return "DTLSv13"
	}
	if v>>8 == 0x7f {
		return "TLSv13-draft" + strconv.Itoa(int(v&0xff))
	}
	return "unknown-" + strconv.Itoa(int(v))
}

// CipherName is a suite's IANA name, else unknown-N (as Zeek prints it).
func CipherName(id uint16) string {
	if n := ianaCipherName(id); n != "" {
		return n
	}
	return "unknown-" + strconv.Itoa(int(id))
}

// SSLv2CipherName names an SSLv2 cipher spec (3 bytes) as Zeek does.
func SSLv2CipherName(spec uint32) string {
	switch spec {
	case 0x010080:
		return "SSLv20_CK_RC4_128_WITH_MD5"
	case 0x020080:
		return "SSLv20_CK_RC4_128_EXPORT40_WITH_MD5"
	case 0x030080:
		return "SSLv20_CK_RC2_128_CBC_WITH_MD5"
	case 0x040080:
		return "SSLv20_CK_RC2_128_CBC_EXPORT40_WITH_MD5"
	case 0x050080:
		return "SSLv20_CK_IDEA_128_CBC_WITH_MD5"
	case 0x060040:
		return "SSLv20_CK_DES_64_CBC_WITH_MD5"
	case 0x0700c0:
		return "SSLv20_CK_DES_192_EDE3_CBC_WITH_MD5"
	}
	if spec>>16 == 0 {
		return CipherName(uint16(spec))
	}
	return "unknown-" + strconv.Itoa(int(spec))
}

// CurveName names a TLS supported group (IANA registry names, lower case
// for the classic curves as Zeek prints them), else unknown-N.
func CurveName(g uint16) string {
	switch g {
	case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14:
		return [...]string{"sect163k1", "sect163r1", "sect163r2", "sect193r1", "sect193r2", "sect233k1", "sect233r1",
			"sect239k1", "sect283k1", "sect283r1", "sect409k1", "sect409r1", "sect571k1", "sect571r1"}[g-1]
	case 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25:
		return [...]string{"secp160k1", "secp160r1", "secp160r2", "secp192k1", "secp192r1", "secp224k1", "secp224r1",
			"secp256k1", "secp256r1", "secp384r1", "secp521r1"}[g-15]
	case 26:
		return "brainpoolP256r1"
	case 27:
		return "brainpoolP384r1"
	case 28:
		return "brainpoolP512r1"
	case 29:
		return "x25519"
	case 30:
		return "x448"
	case 31:
		return "brainpoolP256r1tls13"
	case 32:
		return "brainpoolP384r1tls13"
	case 33:
		return "brainpoolP512r1tls13"
	case 256, 257, 258, 259, 260:
		return [...]string{"ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"}[g-256]
	case 512:
		return "MLKEM512"
	case 513:
		return "MLKEM768"
	case 514:
		return "MLKEM1024"
	case 4587:
		return "SecP256r1MLKEM768"
	case 4588:
		return "X25519MLKEM768"
	case 4589:
		return "SecP384r1MLKEM1024"
	case 25497:
		return "X25519Kyber768Draft00"
	case 25498:
		return "SecP256r1Kyber768Draft00"
	}
	return "unknown-" + strconv.Itoa(int(g))
}

// AlertName names an alert description (RFC 8446 and earlier), else
// unknown-N.
func AlertName(d uint8) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 21:
		return "decryption_failed"
	case 22:
		return "record_overflow"
	case 30:
		return "decompression_failure"
	case 40:
		return "handshake_failure"
	case 41:
		return "no_certificate"
	case 42:
		return "bad_certificate"
	case 43:
		return "unsupported_certificate"
	case 44:
		return "certificate_revoked"
	case 45:
		return "certificate_expired"
	case 46:
		return "certificate_unknown"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 49:
		return "access_denied"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 60:
		return "export_restriction"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 90:
		return "user_canceled"
	case 100:
		return "no_renegotiation"
	case 109:
		return "missing_extension"
	case 110:
		return "unsupported_extension"
	case 111:
		return "certificate_unobtainable"
	case 112:
		return "unrecognized_name"
	case 113:
		return "bad_certificate_status_response"
	case 114:
		return "bad_certificate_hash_value"
	case 115:
		return "unknown_psk_identity"
	case 116:
		return "certificate_required"
	case 120:
		return "no_application_protocol"
	case 121:
		return "ech_required"
	}
	return "unknown-" + strconv.Itoa(int(d))
}
