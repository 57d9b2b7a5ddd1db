// Package natsink publishes log records to a NATS JetStream stream.
//
// Records wait for their acknowledgement in memory: the log writers
// append them to a bounded ring (mem.go), and one publisher goroutine
// publishes each asynchronously (publish.go), at most MaxInFlight at a
// time, on <Subject>.<Sensor>.<kind>, with a Nats-Msg-Id that is the same
// in every run over the same traffic (sink.AppendID). A record counts as
// sent when its publish ack arrives. A publish that fails or is not
// acknowledged within AckWait sends the records again from the oldest
// unacknowledged one (go-back-N), and the stream's duplicate window drops
// what had arrived already.
//
// The spool (outputs/spool, a bounded queue on disk) takes the records
// only when the cluster falls behind: disconnected, failing, or with the
// ring full of unacknowledged records. The records in memory only are
// then written to it first, and the records after them follow, so the
// spool holds them in order; the publisher reads it back into the ring as
// acknowledgements free room, and commits a record's place in the spool
// once it is acknowledged. A full spool drops the newest records, counted.
// So the log writers (and behind them the workers) never wait for the
// network, and while the cluster keeps up no record touches the disk.
//
// At Close the publisher goes on until every record is acknowledged or the
// drain timeout passes; what is left is written to the spool, and a new
// Sink on the same directory sends it first. A process killed before that
// loses the records it held in memory only; a run over the same input
// sends them again with the same IDs (records of a previous run that were
// in the spool stay there until acknowledged).
package natsink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fastsniff/fastsniff/outputs/sink"
	"github.com/fastsniff/fastsniff/outputs/spool"
)

// Defaults for Config fields left zero.
const (
	DefaultSubject     = "fastsniff"
	DefaultStream      = "FASTSNIFF"
	DefaultSpoolMax    = 1 << 30
	DefaultMaxInFlight = 4096
	DefaultMemRecords  = 2 * DefaultMaxInFlight
	DefaultMemBytes    = 16 << 20
	DefaultAckWait     = 5 * time.Second
	DefaultDuplicates  = 10 * time.Minute
)

// Config configures a Sink.
type Config struct {
	URLs     []string // servers of one cluster
	Subject  string   // subject prefix
	Sensor   string   // this sensor's name (sink.ValidSensor)
	Stream   string   // created if absent
	Replicas int      // of a created stream; default 1
	// Duplicates is the duplicate window of a created stream: a record sent
	// again within it is dropped by the server.
	Duplicates time.Duration
	Creds      string // NATS credentials file
	TLSCA      string // CA certificate(s) to verify the servers with
	// SpoolDir keeps records while the cluster falls behind, and at Close
	// those not acknowledged, for the next run; empty: a temporary
	// directory removed at Close (what is left is lost).
	SpoolDir    string
	SpoolMax    int64
	MaxInFlight int
	// MemRecords and MemBytes bound the records held in memory until
	// acknowledged (MemRecords at least MaxInFlight); past them records
	// go to the spool.
	MemRecords int
	MemBytes   int
	AckWait    time.Duration
	// Logf reports events worth a warning (spool full, disconnects).
	Logf func(format string, args ...any)
}

// Stats are a Sink's counters.
type Stats struct {
	Published  uint64 // records published (first time in this run)
	Acked      uint64 // records acknowledged by the stream
	Retried    uint64 // publishes sent again after a failure or ack timeout
	Spooled    uint64 // records written to the spool in this run (the cluster fell behind, or at exit)
	Replayed   uint64 // records a previous run left in the spool, acknowledged now
	Dropped    uint64 // records dropped because the spool was full
	SpoolBytes uint64 // bytes in the spool not yet acknowledged
	Unacked    uint64 // records not yet acknowledged (in memory or in the spool)
	Connected  bool
}

// Sink publishes records to JetStream; it implements sink.Sink.
type Sink struct {
	cfg    Config
	sp     *spool.Spool
	tmpDir string
	opts   []nats.Option
	nc     atomic.Pointer[nats.Conn] // set by the publisher once it connected
	js     jetstream.JetStream       // the publisher's
	subj   [sink.NumKinds]string
	ids    [sink.NumKinds][]byte // Append's ID buffer, per kind (one goroutine each)

	closing   chan struct{}
	closeOnce sync.Once
	drainBy   atomic.Int64 // unix nanos: the publisher stops then
	done      chan struct{}
	err       error // the publisher's fatal error, read after done

	wake    chan struct{} // Append put records in the ring
	openEnd int64         // spool records ending at or before it are a previous run's

	mu       sync.Mutex // guards what follows (ring indexes: mem.go)
	ents     []entry
	head     uint64 // oldest unacknowledged record (written by the publisher)
	tail     uint64
	direct   uint64 // records [direct, tail) are in memory only
	memBytes int
	loadPos  int64 // spool records before it are in the ring or acknowledged
	live     bool  // the publisher keeps up: records may go to memory
	// warnedFull: the spool-full warning was given and no record was
	// taken since
	warnedFull bool

	published, acked, retried, replayed, dropped atomic.Uint64
}

var _ sink.Sink = (*Sink)(nil)

// Open opens the spool and starts connecting and publishing. A cluster
// that cannot be reached is not an error: records wait in the spool.
func Open(cfg Config) (*Sink, error) {
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.SpoolMax <= 0 {
		cfg.SpoolMax = DefaultSpoolMax
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MemRecords < cfg.MaxInFlight {
		cfg.MemRecords = max(DefaultMemRecords, cfg.MaxInFlight)
	}
	if cfg.MemBytes <= 0 {
		cfg.MemBytes = DefaultMemBytes
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if !sink.ValidSensor(cfg.Sensor) {
		return nil, fmt.Errorf("sensor name %q: want letters, digits, - or _", cfg.Sensor)
	}
	if len(cfg.URLs) == 0 {
		return nil, errors.New("natsink: no server URL")
	}
	s := &Sink{cfg: cfg, closing: make(chan struct{}), done: make(chan struct{}),
		wake: make(chan struct{}, 1), ents: make([]entry, cfg.MemRecords)}
	for k := sink.Kind(0); k < sink.NumKinds; k++ {
		s.subj[k] = cfg.Subject + "." + cfg.Sensor + "." + k.String()
	}
	dir := cfg.SpoolDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "fastsniff-spool-"); err != nil {
			return nil, err
		}
		s.tmpDir = dir
	}
	sp, err := spool.Open(dir, cfg.SpoolMax)
	if err != nil {
		s.removeTmp()
		return nil, err
	}
	s.sp = sp
	s.loadPos, s.openEnd = sp.Start(), sp.OpenEnd()
	opts, err := ConnOptions(cfg.Creds, cfg.TLSCA)
	if err != nil {
		sp.Close()
		s.removeTmp()
		return nil, err
	}
	opts = append(opts,
		nats.Name("fastsniff "+cfg.Sensor),
		// never buffer publishes while disconnected: the spool does that,
		// and a publish that cannot go out must fail at once
		nats.ReconnectBufSize(-1),
		// a server that stops reading holds up the publisher only this long
		nats.FlusherTimeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			s.setLive(false) // new records to the spool at once
			if err != nil {
				cfg.Logf("nats: disconnected: %v", err)
			}
		}),
	)
	s.opts = opts
	// connecting waits for a server's answer (up to 2 s for one that
	// accepts and says nothing): the publisher does it, not the caller
	go s.run()
	return s, nil
}

// connect connects (on the publisher goroutine). With
// RetryOnFailedConnect only a bad option is an error: an unreachable
// cluster gives a connection that keeps trying.
func (s *Sink) connect() error {
	nc, err := nats.Connect(strings.Join(s.cfg.URLs, ","), s.opts...)
	if err != nil {
		return fmt.Errorf("nats: %v", err)
	}
	js, err := jetstream.New(nc) // for the stream; publishing is in publish.go
	if err != nil {
		nc.Close()
		return err
	}
	s.js = js
	s.nc.Store(nc)
	return nil
}

// ConnOptions are the options every fastsniff NATS client uses: reconnect
// for ever, credentials, TLS CA.
func ConnOptions(creds, ca string) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(2 * time.Second),
	}
	if creds != "" {
		if _, err := os.Stat(creds); err != nil {
			return nil, fmt.Errorf("--nats-creds: %v", err)
		}
		opts = append(opts, nats.UserCredentials(creds))
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--nats-tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--nats-tls-ca %s: no PEM certificate in it", ca)
		}
		opts = append(opts, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return opts, nil
}

func (s *Sink) removeTmp() {
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

// Stats returns the counters (safe from any goroutine).
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	mem := s.memOnly()
	s.mu.Unlock()
	st := s.sp.Stats()
	return Stats{
		Published:  s.published.Load(),
		Acked:      s.acked.Load(),
		Retried:    s.retried.Load(),
		Spooled:    st.Appended,
		Replayed:   s.replayed.Load(),
		Dropped:    s.dropped.Load(),
		SpoolBytes: st.Bytes,
		Unacked:    st.Records + mem,
		Connected:  s.connected(),
	}
}

func (s *Sink) connected() bool {
	nc := s.nc.Load()
	return nc != nil && nc.IsConnected()
}

// SpoolDir is the spool's directory.
func (s *Sink) SpoolDir() string { return s.sp.Dir() }

// Temporary reports whether the spool is a temporary directory (no
// SpoolDir): what Close leaves unacknowledged is lost.
func (s *Sink) Temporary() bool { return s.tmpDir != "" }

// Close stops taking records (call it after the logs were closed, so that
// their last lines were appended), waits up to timeout for every record to
// be acknowledged, writes those that were not to the spool, then closes
// the connection and the spool. The error
// says why records were left unacknowledged; Stats then says how many.
func (s *Sink) Close(timeout time.Duration) error {
	s.closeOnce.Do(func() {
		s.drainBy.Store(time.Now().Add(timeout).UnixNano())
		close(s.closing)
	})
	<-s.done
	err := s.err
	if nc := s.nc.Load(); nc != nil {
		nc.Close()
	}
	if e := s.sp.Close(); err == nil {
		err = e
	}
	if n := s.sp.Stats().Records; n > 0 && err == nil {
		err = &UnackedError{N: n, Dir: s.sp.Dir(), Lost: s.tmpDir != ""}
	}
	s.removeTmp()
	return err
}

// UnackedError is Close's error when records were not acknowledged in
// time.
type UnackedError struct {
	N    uint64
	Dir  string
	Lost bool // no spool directory was given: they are gone
}

func (e *UnackedError) Error() string {
	if e.Lost {
		return fmt.Sprintf("%d records not acknowledged by NATS and lost (give --spool DIR to keep them for the next run)", e.N)
	}
	return fmt.Sprintf("%d records not acknowledged by NATS: left in spool %s for the next run", e.N, e.Dir)
}

// ensureStream creates the stream if absent.
func (s *Sink) ensureStream() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := s.js.Stream(ctx, s.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       s.cfg.Stream,
			Subjects:   []string{s.cfg.Subject + ".>"},
			Replicas:   s.cfg.Replicas,
			Duplicates: s.cfg.Duplicates,
			Storage:    jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	return err
}
