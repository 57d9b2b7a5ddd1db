package sink

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestAddSensor(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{\"a\":1}\n", "{\"a\":1,\"sensor\":\"s1\"}\n"},
		{"{}\n", "{\"sensor\":\"s1\"}\n"},
		{"{\"a\":1}\n{\"b\":\"}\"}\n", "{\"a\":1,\"sensor\":\"s1\"}\n{\"b\":\"}\",\"sensor\":\"s1\"}\n"},
		{"", ""},
	} {
		got, err := AddSensor(nil, []byte(c.in), "s1")
		if err != nil || string(got) != c.want {
			t.Errorf("AddSensor(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"{\"a\":1}", "{\"a\":1}x\n", "\n", "x}\n{"} {
		if _, err := AddSensor(nil, []byte(bad), "s1"); !errors.Is(err, ErrLine) {
			t.Errorf("AddSensor(%q): err %v, want ErrLine", bad, err)
		}
	}
}

func TestAppendID(t *testing.T) {
	conn := `{"ts":1.5,"uid":"CAbc123","id.orig_h":"10.0.0.1","conn_state":"SF"}`
	http := `{"ts":1.5,"uid":"CAbc123","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"trans_depth":12,"method":"GET","uri":"/\"uid\":\"x"}`
	for _, c := range []struct {
		k    Kind
		line string
		want string
		ok   bool
	}{
		{Conn, conn, "s1.conn.CAbc123", true},
		{HTTP, http, "s1.http.CAbc123.12", true},
		{HTTP, `{"uid":"C1","trans_depth":3}`, "s1.http.C1.3", true},
		{HTTP, conn, "", false},                            // no depth
		{HTTP, `{"uid":"C1","trans_depth":x1}`, "", false}, // not a number
		{Conn, `{"ts":1}`, "", false},                      // no uid
		{Conn, `{"uid":""}`, "", false},                    // empty uid
		{Conn, `{"uid":"C1`, "", false},                    // cut
	} {
		got, ok := AppendID(nil, c.k, "s1", []byte(c.line))
		if ok != c.ok || (ok && string(got) != c.want) {
			t.Errorf("AppendID(%v, %s) = %q, %v; want %q, %v", c.k, c.line, got, ok, c.want, c.ok)
		}
	}
}

// recorder is a Sink keeping what it gets.
type recorder struct{ got [NumKinds]bytes.Buffer }

func (r *recorder) Append(k Kind, lines []byte) error { r.got[k].Write(lines); return nil }

func TestTee(t *testing.T) {
	var file bytes.Buffer
	var rec recorder
	tee := &Tee{Kind: HTTP, Sensor: "edge-1", FileSensor: true, Next: &file, Sink: &rec}
	in := "{\"uid\":\"C1\",\"trans_depth\":1}\n{\"uid\":\"C1\",\"trans_depth\":2}\n"
	n, err := tee.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	want := strings.ReplaceAll(in, "}\n", ",\"sensor\":\"edge-1\"}\n")
	if file.String() != want || rec.got[HTTP].String() != want || rec.got[Conn].Len() != 0 {
		t.Errorf("file %q, sink %q; want both %q", file.String(), rec.got[HTTP].String(), want)
	}
	// without FileSensor the file gets the lines unchanged, the sink with
	// the field
	file.Reset()
	rec.got[HTTP].Reset()
	tee = &Tee{Kind: HTTP, Sensor: "edge-1", Next: &file, Sink: &rec}
	if _, err := tee.Write([]byte(in)); err != nil || file.String() != in || rec.got[HTTP].String() != want {
		t.Errorf("FileSensor false: file %q, sink %q, %v", file.String(), rec.got[HTTP].String(), err)
	}
	// without a sensor the lines pass unchanged
	file.Reset()
	tee = &Tee{Kind: Conn, Next: &file}
	if _, err := tee.Write([]byte(in)); err != nil || file.String() != in {
		t.Errorf("no sensor: %q, %v", file.String(), err)
	}
}

func TestValidSensor(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "edge-1_B": true, "": false, "a.b": false, "a*": false, "a b": false, strings.Repeat("x", 64): true, strings.Repeat("x", 65): false} {
		if ValidSensor(s) != want {
			t.Errorf("ValidSensor(%q) = %v", s, !want)
		}
	}
}

func FuzzAppendID(f *testing.F) {
	f.Add([]byte(`{"uid":"C1","trans_depth":3}`), true)
	f.Add([]byte(`{"uid":"C1"}`), false)
	f.Fuzz(func(t *testing.T, line []byte, http bool) {
		k := Conn
		if http {
			k = HTTP
		}
		id, ok := AppendID(nil, k, "s", line)
		if ok && !bytes.HasPrefix(id, []byte("s."+k.String()+".")) {
			t.Fatalf("id %q", id)
		}
		out, err := AddSensor(nil, line, "s")
		if err == nil && len(line) > 0 && !bytes.HasSuffix(out, []byte("\"sensor\":\"s\"}\n")) {
			t.Fatalf("AddSensor(%q) = %q", line, out)
		}
	})
}
