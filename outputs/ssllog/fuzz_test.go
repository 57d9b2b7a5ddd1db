package ssllog

import (
	"crypto/x509"
	"testing"

	"github.com/fastsniff/fastsniff/tlsinfo/tlstest"
)

// FuzzLeafFields: the certificate walk and the name formatting never
// panic, and on real certificates agree with crypto/x509.
func FuzzLeafFields(f *testing.F) {
	c, err := tlstest.SelfSigned("fuzz.test")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Certificate[0])
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		issuer, subject, nb, na, ok := leafFields(der)
		if !ok {
			return
		}
		formatDN(issuer)
		formatDN(subject)
		if cert, err := x509.ParseCertificate(der); err == nil {
			if string(cert.RawSubject) != string(subject) || string(cert.RawIssuer) != string(issuer) ||
				!cert.NotBefore.Equal(nb) || !cert.NotAfter.Equal(na) {
				t.Fatalf("differs from crypto/x509")
			}
		}
	})
}
