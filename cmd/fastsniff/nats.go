package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fastsniff/fastsniff/outputs/metrics"
	"github.com/fastsniff/fastsniff/outputs/natsink"
	"github.com/fastsniff/fastsniff/outputs/sink"
)

// natsOptions are the --nats*, --sensor and --spool* flags.
type natsOptions struct {
	urls      string
	subject   string
	sensor    string
	sensorSet bool // --sensor given: the field goes into the files too
	stream    string
	replicas  int
	creds     string
	tlsCA     string
	spool     string
	spoolMax  bodySize
	drain     time.Duration
	stderr    io.Writer // for warnings and the summary line
	// create, when set, opens a log file (rotation, SIGHUP: logfiles.go)
	create func(path string) (io.WriteCloser, error)
}

// sensorFlag records whether --sensor was given.
type sensorFlag struct{ o *natsOptions }

func (f sensorFlag) String() string {
	if f.o == nil {
		return ""
	}
	return f.o.sensor
}
func (f sensorFlag) Set(v string) error { f.o.sensor, f.o.sensorSet = v, true; return nil }

func addNATSFlags(fs *flag.FlagSet, o *natsOptions, stderr io.Writer) {
	o.stderr = stderr
	o.spoolMax = natsink.DefaultSpoolMax
	fs.StringVar(&o.urls, "nats", "", "publish every conn-log and HTTP-log record to NATS JetStream at `URL[,URL...]` (servers of one cluster)")
	fs.StringVar(&o.subject, "nats-subject", natsink.DefaultSubject, "subject `PREFIX`: records go to PREFIX.<sensor>.conn and PREFIX.<sensor>.http")
	fs.Var(sensorFlag{o}, "sensor", "this sensor's `NAME` (default: the host name): in subjects, message IDs and field \"sensor\" of every published record, and when given in the files' records too")
	fs.StringVar(&o.stream, "nats-stream", natsink.DefaultStream, "JetStream stream `NAME`, created if absent (subjects PREFIX.>)")
	fs.IntVar(&o.replicas, "nats-replicas", 1, "replicas of a stream fastsniff creates (3 on a 3-node cluster)")
	fs.StringVar(&o.creds, "nats-creds", "", "NATS user credentials `FILE`")
	fs.StringVar(&o.tlsCA, "nats-tls-ca", "", "verify the NATS servers' TLS certificates with the CA in `FILE`")
	fs.StringVar(&o.spool, "spool", "", "keep records in `DIR` while NATS is slow or unreachable, and at exit those not acknowledged, for the next run (default: a temporary directory, lost at exit)")
	fs.Var(&o.spoolMax, "spool-max", "bound the spool to `SIZE` bytes, k/m/g suffixes (when full, the newest records are dropped and counted)")
	fs.DurationVar(&o.drain, "nats-drain-timeout", 10*time.Second, "at exit, wait this long for NATS to acknowledge what is outstanding")
}

// checkNATSOptions fills in the default sensor and rejects bad values.
func checkNATSOptions(o *natsOptions) error {
	if o.urls == "" {
		if o.spool != "" {
			return fmt.Errorf("--spool needs --nats")
		}
		if o.sensorSet && !sink.ValidSensor(o.sensor) {
			return fmt.Errorf("--sensor %q: want 1 to 64 letters, digits, - or _", o.sensor)
		}
		return nil
	}
	if !o.sensorSet {
		o.sensor = hostSensor()
	}
	if !sink.ValidSensor(o.sensor) {
		return fmt.Errorf("--sensor %q: want 1 to 64 letters, digits, - or _", o.sensor)
	}
	if o.subject == "" || strings.ContainsAny(o.subject, " *>") {
		return fmt.Errorf("--nats-subject %q: want a subject prefix without wildcards", o.subject)
	}
	if o.replicas < 1 || o.replicas > 5 {
		return fmt.Errorf("--nats-replicas %d: want 1 to 5", o.replicas)
	}
	if o.drain < 0 {
		return fmt.Errorf("--nats-drain-timeout %v: want >= 0", o.drain)
	}
	return nil
}

// hostSensor is the default sensor name: the host name up to its first
// dot, other characters than letters, digits, - and _ made _.
func hostSensor() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "sensor"
	}
	h, _, _ = strings.Cut(h, ".")
	b := []byte(h)
	for i, c := range b {
		if !sink.ValidSensor(string(c)) {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// natsOutput is the NATS sink of a run, nil without --nats.
type natsOutput struct {
	o     *natsOptions
	sink  *natsink.Sink
	quiet bool
}

// wraps says whether the logs go through a sink.Tee: with --nats, or with
// --sensor (the field in the files).
func (o *natsOptions) wraps() bool { return o.urls != "" || o.sensorSet }

// openNATS starts the sink, or returns nil without --nats.
func openNATS(o *natsOptions, quiet bool) (*natsOutput, error) {
	if o.urls == "" {
		return nil, nil
	}
	s, err := natsink.Open(natsink.Config{
		URLs:     splitURLs(o.urls),
		Subject:  o.subject,
		Sensor:   o.sensor,
		Stream:   o.stream,
		Replicas: o.replicas,
		Creds:    o.creds,
		TLSCA:    o.tlsCA,
		SpoolDir: o.spool,
		SpoolMax: int64(o.spoolMax),
		Logf: func(format string, args ...any) {
			fmt.Fprintf(o.stderr, "fastsniff: warning: "+format+"\n", args...)
		},
	})
	if err != nil {
		return nil, err
	}
	return &natsOutput{o: o, sink: s, quiet: quiet}, nil
}

// tee returns the writer of a log: the file at path ("-" stdout, ""
// none), with the sensor field when --sensor was given, and the NATS sink.
func (o *natsOptions) tee(n *natsOutput, k sink.Kind, path string, stdout io.Writer) (*sink.Tee, error) {
	// the sensor field: always in what is published, in the files only
	// when --sensor was given
	t := &sink.Tee{Kind: k, Sensor: o.sensor, FileSensor: o.sensorSet}
	if n != nil {
		t.Sink = n.sink
	}
	switch path {
	case "":
	case "-":
		t.Next = stdout
	default:
		var f io.WriteCloser
		var err error
		if o.create != nil {
			f, err = o.create(path)
		} else {
			f, err = os.Create(path)
		}
		if err != nil {
			return nil, err
		}
		t.Next, t.Closer = f, f
	}
	return t, nil
}

// close drains the sink and prints its summary line.
func (n *natsOutput) close() error {
	if n == nil {
		return nil
	}
	if !n.quiet {
		if st := n.sink.Stats(); st.Unacked > 0 {
			fmt.Fprintf(n.o.stderr, "fastsniff: waiting up to %v for %d records to be acknowledged by NATS\n", n.o.drain, st.Unacked)
		}
	}
	err := n.sink.Close(n.o.drain)
	if !n.quiet {
		st := n.sink.Stats()
		fmt.Fprintf(n.o.stderr, "nats: published %d, acked %d, retried %d, spooled %d, replayed %d, dropped %d, spool bytes %d (%d records unacked)\n",
			st.Published, st.Acked, st.Retried, st.Spooled, st.Replayed, st.Dropped, st.SpoolBytes, st.Unacked)
	}
	return err
}

// source reports the sink's counters to --metrics.
func (n *natsOutput) source() metrics.Source {
	return func(s *metrics.Snapshot) {
		st := n.sink.Stats()
		s.NATS = &metrics.NATSStats{
			Published:  st.Published,
			Acked:      st.Acked,
			Retried:    st.Retried,
			Spooled:    st.Spooled,
			Replayed:   st.Replayed,
			Dropped:    st.Dropped,
			SpoolBytes: st.SpoolBytes,
			Unacked:    st.Unacked,
			Connected:  st.Connected,
		}
	}
}

// httpTee is httpOptions.tee: nil unless the HTTP log goes through a Tee
// (--nats, or --sensor with --http-log).
func (o *natsOptions) httpTee(n *natsOutput, path string, stdout io.Writer) func(string) (*sink.Tee, error) {
	if n == nil && !(o.sensorSet && path != "") {
		return nil
	}
	return func(path string) (*sink.Tee, error) { return o.tee(n, sink.HTTP, path, stdout) }
}

// exitUnacked is the exit code when everything else went well but NATS
// did not acknowledge every record before the drain timeout.
const exitUnacked = 3

func exitCode(err error) int {
	var ue *natsink.UnackedError
	if errors.As(err, &ue) {
		return exitUnacked
	}
	return 1
}
