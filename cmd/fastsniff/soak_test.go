package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSoakLive runs scripts/soak-live for 60 s: a capture replayed in a
// loop into a test namespace, fastsniff -i on it; the script fails if
// memory, goroutines or file descriptors grow after the warm-up, if any
// packet is lost, or if the connections logged are not loops x
// connections per loop.
func TestSoakLive(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 s soak")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and captures on it")
	}
	for _, tool := range []string{"ip", "tcpreplay", "ethtool", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "soak-live"), "60s")
	cmd.Env = append(os.Environ(), "BIN="+filepath.Join(t.TempDir(), "fastsniff"))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("soak-live: %v", err)
	}
	if !strings.Contains(string(out), "soak-live: PASS") {
		t.Fatal("no PASS line")
	}
}
