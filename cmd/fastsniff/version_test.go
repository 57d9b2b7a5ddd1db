package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	s := out.String()
	if !strings.HasPrefix(s, "fastsniff ") || !strings.Contains(s, runtime.Version()) || !strings.Contains(s, "revision ") {
		t.Errorf("--version printed %q", s)
	}
}

// TestVersionBuildInfo builds the command as `make build` does and checks
// that --version names the checked-out commit.
func TestVersionBuildInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("needs git and a checkout: ", err)
	}
	bin := filepath.Join(t.TempDir(), "fastsniff")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		if strings.Contains(string(out), "VCS status") {
			t.Skipf("git cannot stamp this checkout: %s", out)
		}
		t.Fatalf("go build: %v: %s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "revision " + strings.TrimSpace(string(head))
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "commit time 20") {
		t.Errorf("--version printed %q, want %q and a commit time", out, want)
	}
}
