package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fastsniff/fastsniff/outputs/ssllog"
	"github.com/fastsniff/fastsniff/tlsinfo"
)

func sslCounter(n, help string, f func(*ssllog.Stats) uint64) metric {
	return metric{name(n), prometheus.NewDesc(name(n), help, nil, nil), prometheus.CounterValue,
		func(s *Snapshot) (float64, bool) {
			if s.SSL == nil {
				return 0, false
			}
			return float64(f(s.SSL)), true
		}}
}

func handshakes(n, ver string, i int) metric {
	return sslCounter(n, "TLS handshakes whose ServerHello chose "+ver+".", func(s *ssllog.Stats) uint64 { return s.TLS.Handshakes[i] })
}

// sslPlain are the --ssl-log metrics, reported only with --ssl-log.
var sslPlain = []metric{
	sslCounter("tls_connections_total", "Connections recognised as TLS or SSLv2.", func(s *ssllog.Stats) uint64 { return s.TLS.Conns }),
	sslCounter("tls_client_hellos_total", "ClientHellos parsed.", func(s *ssllog.Stats) uint64 { return s.TLS.ClientHellos }),
	sslCounter("tls_server_hellos_total", "ServerHellos parsed (HelloRetryRequests included).", func(s *ssllog.Stats) uint64 { return s.TLS.ServerHellos }),
	sslCounter("tls_certificates_total", "Certificate messages read.", func(s *ssllog.Stats) uint64 { return s.TLS.Certificates }),
	handshakes("tls_handshakes_sslv2_total", "SSLv2", tlsinfo.VerSSLv2),
	handshakes("tls_handshakes_sslv3_total", "SSLv3", tlsinfo.VerSSLv3),
	handshakes("tls_handshakes_tls10_total", "TLS 1.0", tlsinfo.VerTLS10),
	handshakes("tls_handshakes_tls11_total", "TLS 1.1", tlsinfo.VerTLS11),
	handshakes("tls_handshakes_tls12_total", "TLS 1.2", tlsinfo.VerTLS12),
	handshakes("tls_handshakes_tls13_total", "TLS 1.3", tlsinfo.VerTLS13),
	handshakes("tls_handshakes_other_total", "another version (TLS 1.3 drafts, experiments)", tlsinfo.VerOther),
	sslCounter("tls_established_total", "TLS handshakes that completed.", func(s *ssllog.Stats) uint64 { return s.TLS.Established }),
	sslCounter("tls_messages_too_large_total", "Handshake messages over the buffer limit, skipped.", func(s *ssllog.Stats) uint64 { return s.TLS.TooLarge }),
	sslCounter("tls_malformed_total", "Handshake messages that did not parse.", func(s *ssllog.Stats) uint64 { return s.TLS.Malformed }),
	sslCounter("tls_desyncs_total", "TLS directions abandoned after a gap or a bad record header.", func(s *ssllog.Stats) uint64 { return s.TLS.Desyncs }),
	sslCounter("tls_logged_total", "Lines of the TLS log.", func(s *ssllog.Stats) uint64 { return s.Logged }),
	sslCounter("tls_bypassed_connections_total", "TLS connections no longer reassembled after their handshake.", func(s *ssllog.Stats) uint64 { return s.Bypassed }),
	sslCounter("tls_bypassed_bytes_total", "Stream bytes of those connections not passed on after the handshake (by sequence numbers), counted at each close.", func(s *ssllog.Stats) uint64 { return s.BypassedBytes }),
}
