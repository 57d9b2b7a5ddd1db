package sink

import (
	"bytes"
	"testing"
)

// stampedWriter records the stamp in force at each write.
type stampedWriter struct {
	bytes.Buffer
	stamp  int64
	stamps []int64
}

func (w *stampedWriter) SetStamp(ns int64) { w.stamp = ns }
func (w *stampedWriter) Write(p []byte) (int, error) {
	w.stamps = append(w.stamps, w.stamp)
	return w.Buffer.Write(p)
}

// TestTeeStamp: a Tee passes the stamp of the lines it writes to a log
// file that files lines by it (a rotated log), and ignores it otherwise.
func TestTeeStamp(t *testing.T) {
	w := &stampedWriter{}
	tee := &Tee{Kind: Conn, Next: w}
	tee.SetStamp(42)
	if _, err := tee.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	tee.SetStamp(7)
	if _, err := tee.Write([]byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if len(w.stamps) != 2 || w.stamps[0] != 42 || w.stamps[1] != 7 {
		t.Errorf("stamps at the writes %v, want [42 7]", w.stamps)
	}
	var plain bytes.Buffer
	(&Tee{Next: &plain}).SetStamp(1) // no SetStamp: nothing to do
	(&Tee{}).SetStamp(1)             // no file at all
}
