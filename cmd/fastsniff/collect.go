package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fastsniff/fastsniff/outputs/natsink"
)

// collectOptions are `fastsniff collect`'s flags.
type collectOptions struct {
	urls, subject, stream, durable string
	creds, tlsCA                   string
	connLog, httpLog               string
	idle                           time.Duration
	batch                          int
	quiet                          bool
}

// runCollect is `fastsniff collect`: the stream's records into JSON-lines
// files through a durable consumer.
func runCollect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o collectOptions
	fs := flag.NewFlagSet("fastsniff collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.urls, "nats", "", "NATS server `URL[,URL...]`")
	fs.StringVar(&o.subject, "nats-subject", natsink.DefaultSubject, "subject `PREFIX` the sensors publish under")
	fs.StringVar(&o.stream, "nats-stream", natsink.DefaultStream, "JetStream stream `NAME`")
	fs.StringVar(&o.durable, "durable", "fastsniff-collect", "durable consumer `NAME`: a restarted collect with the same name resumes where it stopped")
	fs.StringVar(&o.creds, "nats-creds", "", "NATS user credentials `FILE`")
	fs.StringVar(&o.tlsCA, "nats-tls-ca", "", "verify the NATS servers' TLS certificates with the CA in `FILE`")
	fs.StringVar(&o.connLog, "conn-log", "", "append connection records to `PATH` (- for stdout)")
	fs.StringVar(&o.httpLog, "http-log", "", "append HTTP records to `PATH` (- for stdout)")
	fs.DurationVar(&o.idle, "idle", 0, "exit once no record has arrived for this long (0: until SIGINT)")
	fs.IntVar(&o.batch, "batch", 1000, "records fetched at a time")
	fs.BoolVar(&o.quiet, "q", false, "no summary on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fastsniff collect --nats URL[,URL...] [--durable NAME] [--conn-log PATH] [--http-log PATH] [--idle D]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "fastsniff collect: %v (see -h)\n", err)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "fastsniff collect: unexpected arguments %q\n", fs.Args())
		return 2
	case o.urls == "":
		fmt.Fprintln(stderr, "fastsniff collect: give --nats URL")
		return 2
	case o.connLog == "" && o.httpLog == "":
		fmt.Fprintln(stderr, "fastsniff collect: give --conn-log PATH and/or --http-log PATH")
		return 2
	case o.connLog == "-" && o.httpLog == "-":
		fmt.Fprintln(stderr, "fastsniff collect: --conn-log and --http-log cannot both be stdout")
		return 2
	case o.batch < 1:
		fmt.Fprintln(stderr, "fastsniff collect: --batch wants at least 1")
		return 2
	}
	n, err := collect(ctx, &o, stdout, stderr)
	if !o.quiet {
		fmt.Fprintf(stderr, "collect: %d conn records, %d http records\n", n[0], n[1])
	}
	if err != nil {
		fmt.Fprintf(stderr, "fastsniff collect: %v\n", err)
		return 1
	}
	return 0
}

// collectFile is one output of collect.
type collectFile struct {
	f *os.File // nil for stdout
	w *bufio.Writer
}

func openCollectFile(path string, stdout io.Writer) (*collectFile, error) {
	if path == "" {
		return nil, nil
	}
	if path == "-" {
		return &collectFile{w: bufio.NewWriterSize(stdout, 64<<10)}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &collectFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// sync makes what was written durable.
func (c *collectFile) sync() error {
	if c == nil {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	if c.f != nil {
		return c.f.Sync()
	}
	return nil
}

func (c *collectFile) close() error {
	if c == nil {
		return nil
	}
	err := c.sync()
	if c.f != nil {
		if e := c.f.Close(); err == nil {
			err = e
		}
	}
	return err
}

// collect runs until ctx ends or --idle passes; it returns the records
// written (conn, http).
func collect(ctx context.Context, o *collectOptions, stdout, stderr io.Writer) (n [2]uint64, err error) {
	files := [2]*collectFile{}
	for i, p := range []string{o.connLog, o.httpLog} {
		if files[i], err = openCollectFile(p, stdout); err != nil {
			return n, err
		}
	}
	defer func() {
		for _, f := range files {
			if e := f.close(); err == nil {
				err = e
			}
		}
	}()
	opts, err := natsink.ConnOptions(o.creds, o.tlsCA)
	if err != nil {
		return n, err
	}
	nc, err := nats.Connect(o.urls, append(opts, nats.Name("fastsniff collect "+o.durable))...)
	if err != nil {
		return n, fmt.Errorf("nats: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return n, err
	}
	filter := o.subject + ".>"
	switch {
	case o.connLog == "":
		filter = o.subject + ".*.http"
	case o.httpLog == "":
		filter = o.subject + ".*.conn"
	}
	// --idle counts from when the consumer exists; until then (a cluster
	// electing leaders, a stream not created yet) collect waits, with
	// --idle for at most the longer of D and 30 s
	t0 := time.Now()
	var cons jetstream.Consumer
	var lastErr string
	for cons == nil {
		if ctx.Err() != nil {
			return n, nil
		}
		if o.idle > 0 && time.Since(t0) > max(o.idle, 30*time.Second) {
			return n, fmt.Errorf("stream %s not available: %v", o.stream, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var s jetstream.Stream
		if s, err = js.Stream(cctx, o.stream); err == nil {
			cons, err = s.CreateOrUpdateConsumer(cctx, jetstream.ConsumerConfig{
				Durable:       o.durable,
				AckPolicy:     jetstream.AckExplicitPolicy,
				AckWait:       30 * time.Second,
				FilterSubject: filter,
				MaxAckPending: 4 * o.batch,
			})
		}
		cancel()
		if err != nil {
			if m := err.Error(); m != lastErr && !o.quiet {
				lastErr = m
				fmt.Fprintf(stderr, "fastsniff collect: waiting for stream %s: %v\n", o.stream, err)
			}
			sleepCtx(ctx, 500*time.Millisecond)
		}
	}
	last := time.Now() // when the last record (or the consumer) came
	idle := func() bool { return o.idle > 0 && time.Since(last) >= o.idle }
	var msgs []jetstream.Msg
	for ctx.Err() == nil && !idle() {
		// at most a second per batch: lines are synced (then acknowledged)
		// at least once a second
		batch, err := cons.Fetch(o.batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		msgs = msgs[:0]
		for m := range batch.Messages() {
			k := 0
			switch subj := m.Subject(); {
			case strings.HasSuffix(subj, ".conn"):
			case strings.HasSuffix(subj, ".http"):
				k = 1
			default:
				msgs = append(msgs, m) // not ours: acknowledged, not written
				continue
			}
			if f := files[k]; f != nil {
				f.w.Write(m.Data())
				if err := f.w.WriteByte('\n'); err != nil {
					return n, err
				}
				n[k]++
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		for _, f := range files {
			if err := f.sync(); err != nil {
				return n, err
			}
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				return n, err
			}
		}
		last = time.Now()
	}
	if err := nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return n, fmt.Errorf("nats: acknowledging: %v", err)
	}
	return n, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
