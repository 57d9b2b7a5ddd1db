package jsonw

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

func TestAppendUint(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 99, 100, 65535, 1e6, 1<<32 - 1, math.MaxUint64} {
		got := string(AppendUint([]byte("x"), v))
		if want := "x" + strconv.FormatUint(v, 10); got != want {
			t.Errorf("AppendUint(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t", `"\n\r\t"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`},
		{"é€😀", `"é€😀"`},
		{"a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"\u2028x\u2029", `"\u2028x\u2029"`},
		{"<&>", `"<&>"`}, // not HTML-escaped
	}
	for _, tt := range tests {
		got := AppendString([]byte("x"), tt.in)
		if string(got) != "x"+tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Errorf("AppendString(%q) = %s: not JSON: %v", tt.in, got, err)
			continue
		}
		var ref string
		refJSON, _ := json.Marshal(tt.in)
		json.Unmarshal(refJSON, &ref)
		if back != ref {
			t.Errorf("AppendString(%q) decodes to %q, encoding/json to %q", tt.in, back, ref)
		}
	}
}
