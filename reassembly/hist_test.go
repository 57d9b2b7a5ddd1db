package reassembly

import "testing"

// The hist constants name their letters, and addHist records each letter
// once per direction, the server's in lower case, in order of first
// occurrence, up to the history's length.
func TestAddHist(t *testing.T) {
	for i, want := range map[uint]byte{histS: 'S', histH: 'H', histA: 'A', histD: 'D', histF: 'F',
		histR: 'R', histT: 'T', histG: 'G', histW: 'W', histI: 'I', histCaret: '^'} {
		if histLetters[i] != want {
			t.Errorf("histLetters[%d] = %c, want %c", i, histLetters[i], want)
		}
	}
	var c Conn
	for _, e := range []struct {
		d Dir
		i uint
	}{{FromClient, histS}, {FromServer, histH}, {FromClient, histA}, {FromClient, histA},
		{FromServer, histA}, {FromClient, histD}, {FromServer, histD}, {FromClient, histS},
		{FromServer, histF}, {FromClient, histF}, {FromServer, histCaret}, {FromClient, histR}} {
		c.addHist(e.d, e.i)
	}
	if got, want := c.History(), "ShAaDdfF^R"; got != want {
		t.Errorf("history %q, want %q", got, want)
	}
}
