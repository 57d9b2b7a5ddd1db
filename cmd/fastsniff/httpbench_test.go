package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writeHTTPCapture writes an HTTP-heavy capture: conns keep-alive
// connections of tx transactions each (GET, 200 with a 1-64 KiB
// Content-Length body in 1448-byte segments, ACKs like a real client).
func writeHTTPCapture(t testing.TB, path string, conns, tx int) int {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ts := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	buf := gopacket.NewSerializeBuffer()
	n := 0
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for c := 0; c < conns; c++ {
		cli := net.IPv4(10, 1, byte(c>>8), byte(c))
		srv := net.IPv4(10, 2, 0, 1)
		cport := layers.TCPPort(20000 + c)
		cseq, sseq := uint32(1000), uint32(9000)
		send := func(fromCli bool, flags string, payload []byte) {
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv}
			tcp := &layers.TCP{SrcPort: cport, DstPort: 80, Seq: cseq, Ack: sseq, Window: 65535}
			if !fromCli {
				ip.SrcIP, ip.DstIP = srv, cli
				tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack = 80, cport, sseq, cseq
			}
			for _, ch := range flags {
				switch ch {
				case 'S':
					tcp.SYN = true
				case 'F':
					tcp.FIN = true
				case '.':
					tcp.ACK = true
				case 'P':
					tcp.PSH = true
				}
			}
			_ = tcp.SetNetworkLayerForChecksum(ip)
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				t.Fatal(err)
			}
			ts = ts.Add(20 * time.Microsecond)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			n++
			adv := uint32(len(payload))
			if tcp.SYN || tcp.FIN {
				adv++
			}
			if fromCli {
				cseq += adv
			} else {
				sseq += adv
			}
		}
		send(true, "S", nil)
		send(false, "S.", nil)
		send(true, ".", nil)
		for i := 0; i < tx; i++ {
			send(true, "P.", []byte(fmt.Sprintf("GET /object/%d/%d HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\n\r\n", c, i)))
			size := 1024 + rng.IntN(63*1024)
			resp := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)), body[:size]...)
			for k := 0; k < len(resp); k += 1448 {
				send(false, "P.", resp[k:min(k+1448, len(resp))])
				if (k/1448)%2 == 1 || k+1448 >= len(resp) {
					send(true, ".", nil)
				}
			}
		}
		send(true, "F.", nil)
		send(false, "F.", nil)
		send(true, ".", nil)
	}
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPLogOverhead answers the HTTP issue's question end to end:
// how much CPU `--http-log` adds to `fastsniff -r` (one worker) on an
// HTTP-heavy capture. Both runs alternate in every iteration so load on
// the machine weighs on them alike; overhead-% is the difference in the
// process's CPU time.
func BenchmarkHTTPLogOverhead(b *testing.B) {
	dir := b.TempDir()
	pcap := filepath.Join(dir, "http.pcap")
	pkts := writeHTTPCapture(b, pcap, 200, 20)
	var plain, withHTTP time.Duration
	runOnce := func(extra ...string) time.Duration {
		args := append([]string{"-r", pcap, "--workers", "1", "-q", "--conn-log", os.DevNull}, extra...)
		t0 := cpuTime()
		if code := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
			b.Fatalf("exit %d", code)
		}
		return cpuTime() - t0
	}
	runOnce()
	runOnce("--http-log", os.DevNull)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plain += runOnce()
		withHTTP += runOnce("--http-log", os.DevNull)
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N*pkts), "plain-cpu-ns/pkt")
	b.ReportMetric(float64(withHTTP.Nanoseconds())/float64(b.N*pkts), "http-cpu-ns/pkt")
	b.ReportMetric(100*float64(withHTTP-plain)/float64(plain), "overhead-%")
}

// The generated capture is what it claims: every transaction is logged.
func TestHTTPCaptureForBenchmark(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcap")
	writeHTTPCapture(t, pcap, 3, 4)
	logPath := filepath.Join(dir, "http.log")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-r", pcap, "-q", "--http-log", logPath}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 12 || bytes.Count(b, []byte(`"status_code":200`)) != 12 {
		t.Errorf("%d lines, want 12 transactions with status 200:\n%s", n, b)
	}
}
