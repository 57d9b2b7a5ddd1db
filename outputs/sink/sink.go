// Package sink is where finished log records leave fastsniff for a
// message transport (NATS JetStream today: outputs/natsink; Kafka could sit
// beside it).
//
// The record producers (the connection log, the HTTP log) are not changed
// by a sink: each already formats its JSON lines on the workers and writes
// them from one writer goroutine per log (outputs/internal/pipe). A Tee is
// the io.Writer of that goroutine: it adds the sensor field to each line,
// writes the lines to the log's file (if any) and hands them to the Sink.
// So a Sink is called off the packet path, by at most one goroutine per
// Kind, with whole lines; it must not wait for the network either (it
// would hold up the writer, and after the pipe's queue the workers).
package sink

import (
	"bytes"
	"errors"
	"io"
)

// Kind is which log a record belongs to.
type Kind uint8

// The kinds of records.
const (
	Conn Kind = iota // a connection-log line
	HTTP             // an HTTP-log line
	NumKinds
)

// String is the kind's subject token: "conn" or "http".
func (k Kind) String() string {
	switch k {
	case Conn:
		return "conn"
	case HTTP:
		return "http"
	}
	return "unknown"
}

// Sink takes finished records.
type Sink interface {
	// Append hands over one or more whole JSON lines of kind k, each
	// ending in '\n'. It is called by one goroutine per kind; it must not
	// block on the network and must not keep lines after it returns.
	Append(k Kind, lines []byte) error
}

// ValidSensor reports whether name can be a sensor name: 1 to 64 ASCII
// letters, digits, '-' or '_' (it is a subject token and a JSON string
// needing no escapes).
func ValidSensor(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrLine is returned for a line that is not a JSON object ending the
// write with "}\n".
var ErrLine = errors.New("sink: record is not a JSON object line")

// Tee is the writer of one log: it adds `"sensor":NAME` as the last field
// of each line (when a sensor is set) for Sink, and for Next only with
// FileSensor; writes the lines to Next (when set) and appends them to Sink
// (when set). Write must get whole lines, as the log writers give them. It
// is used by one goroutine.
type Tee struct {
	Kind       Kind
	Sensor     string    // "" adds no field
	FileSensor bool      // add the field in Next's lines too
	Next       io.Writer // the log file, or nil
	Sink       Sink      // or nil
	Closer     io.Closer // closed by Close (the file behind Next), or nil

	buf []byte // lines with the sensor field, reused
}

// Write implements io.Writer.
func (t *Tee) Write(p []byte) (int, error) {
	out := p
	if t.Sensor != "" && (t.Sink != nil || t.FileSensor) {
		var err error
		if t.buf, err = AddSensor(t.buf[:0], p, t.Sensor); err != nil {
			return 0, err
		}
		out = t.buf
	}
	if t.Next != nil {
		file := out
		if !t.FileSensor {
			file = p
		}
		n, err := t.Next.Write(file)
		if err == nil && n != len(file) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return 0, err
		}
	}
	if t.Sink != nil {
		if err := t.Sink.Append(t.Kind, out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// SetStamp passes the capture time the next lines were logged at to Next
// when it files lines by it (a rotated log, outputs/logfile).
func (t *Tee) SetStamp(ns int64) {
	if st, ok := t.Next.(interface{ SetStamp(int64) }); ok {
		st.SetStamp(ns)
	}
}

// Reached passes on to Next, when it closes its files by capture time (a
// rotated log, outputs/logfile), how far a worker's clock has got.
func (t *Tee) Reached(worker, workers int, ns int64) {
	if r, ok := t.Next.(interface{ Reached(int, int, int64) }); ok {
		r.Reached(worker, workers, ns)
	}
}

// Close closes Closer.
func (t *Tee) Close() error {
	if t.Closer != nil {
		return t.Closer.Close()
	}
	return nil
}

// AddSensor appends lines to dst with `,"sensor":"NAME"` before each
// closing brace. Every line must end in "}\n".
func AddSensor(dst, lines []byte, sensor string) ([]byte, error) {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 1 || lines[i-1] != '}' {
			return dst, ErrLine
		}
		dst = append(dst, lines[:i-1]...)
		if i > 1 && lines[i-2] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, `"sensor":"`...)
		dst = append(dst, sensor...)
		dst = append(dst, '"', '}', '\n')
		lines = lines[i+1:]
	}
	return dst, nil
}

// Lines calls f with each line of lines, without its '\n'.
func Lines(lines []byte, f func(line []byte) error) error {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			return ErrLine
		}
		if err := f(lines[:i]); err != nil {
			return err
		}
		lines = lines[i+1:]
	}
	return nil
}

// AppendID appends a record's identity to dst: "<sensor>.<kind>.<uid>"
// for a connection, "<sensor>.<kind>.<uid>.<trans_depth>" for an HTTP
// transaction. It is the same in every run over the same traffic (uids are
// derived from the connection, not from a counter), which is what lets a
// transport drop re-sends (JetStream's Nats-Msg-Id; a Kafka key). ok is
// false when the line lacks the fields.
func AppendID(dst []byte, k Kind, sensor string, line []byte) (_ []byte, ok bool) {
	uid, ok := field(line, `"uid":"`, '"')
	if !ok || len(uid) == 0 {
		return dst, false
	}
	dst = append(dst, sensor...)
	dst = append(dst, '.')
	dst = append(dst, k.String()...)
	dst = append(dst, '.')
	dst = append(dst, uid...)
	if k == HTTP {
		d, ok := field(line, `"trans_depth":`, ',')
		if !ok || len(d) == 0 {
			return dst, false
		}
		for _, c := range d {
			if c < '0' || c > '9' {
				return dst, false
			}
		}
		dst = append(dst, '.')
		dst = append(dst, d...)
	}
	return dst, true
}

// field returns what follows the first occurrence of key up to end.
func field(line []byte, key string, end byte) ([]byte, bool) {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return nil, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, end)
	if j < 0 {
		if end == ',' { // the last field
			j = bytes.IndexByte(rest, '}')
		}
		if j < 0 {
			return nil, false
		}
	}
	return rest[:j], true
}
