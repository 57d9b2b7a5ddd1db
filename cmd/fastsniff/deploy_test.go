package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fastsniff/fastsniff/flowgen"
)

// unitSetting returns the value of key in deploy/fastsniff.service.
func unitSetting(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "fastsniff.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	t.Fatalf("deploy/fastsniff.service: no %s=", key)
	return ""
}

// serviceCaps are the unit's ambient capabilities, checked to be its
// bounding set too and to name a non-root user.
func serviceCaps(t *testing.T) []string {
	t.Helper()
	caps := strings.Fields(unitSetting(t, "AmbientCapabilities"))
	if b := strings.Fields(unitSetting(t, "CapabilityBoundingSet")); strings.Join(b, " ") != strings.Join(caps, " ") {
		t.Errorf("bounding set %v, ambient %v: want the same", b, caps)
	}
	if u := unitSetting(t, "User"); u == "" || u == "root" {
		t.Errorf("User=%s: want an unprivileged user", u)
	}
	if len(caps) == 0 {
		t.Fatal("no capabilities")
	}
	return caps
}

// setprivCaps is a setpriv capability list: all dropped, then caps.
func setprivCaps(caps []string) string {
	s := "-all"
	for _, c := range caps {
		s += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return s
}

// capRun is `fastsniff -i` started in the test namespace as user nobody
// with exactly caps (inheritable, ambient and bounding sets).
type capRun struct {
	cmd    *exec.Cmd
	stderr *lineWatch
	done   chan error
}

func startCapRun(t *testing.T, v *liveNS, bin string, caps []string, args ...string) *capRun {
	t.Helper()
	c := setprivCaps(caps)
	argv := []string{"netns", "exec", v.name, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
		"--inh-caps=" + c, "--ambient-caps=" + c, "--bounding-set=" + c, bin, "-i", v.rx}
	r := &capRun{stderr: newLineWatch("fastsniff: listening on"), done: make(chan error, 1)}
	r.cmd = exec.Command("ip", append(argv, args...)...)
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// buildForNobody builds fastsniff where user nobody can run it.
func buildForNobody(t *testing.T) (bin, outDir string) {
	t.Helper()
	for _, tool := range []string{"setpriv", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("needs user nobody")
	}
	dir, err := os.MkdirTemp("", "fastsniff-deploy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin = filepath.Join(dir, "fastsniff")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	outDir = filepath.Join(dir, "logs")
	var uid, gid int
	fmt.Sscan(nobody.Uid, &uid)
	fmt.Sscan(nobody.Gid, &gid)
	for _, p := range []string{dir, bin} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(outDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return bin, outDir
}

// TestServiceCapabilities runs `fastsniff -i` as user nobody with exactly
// the capabilities of deploy/fastsniff.service, in a test namespace: it
// logs the same connections and digests as -r of what was replayed.
func TestServiceCapabilities(t *testing.T) {
	v := newLiveNS(t)
	caps := serviceCaps(t)
	bin, out := buildForNobody(t)
	file := liveGen(t, flowgen.Config{Seed: 33, Conns: 150, VLANShare: 0.2, IPv6Share: 0.2})
	want := liveOfflineSet(t, file)
	log := filepath.Join(out, "conn.json")
	r := startCapRun(t, v, bin, caps, "--workers", "2", "--conn-log", log, "--digest", "--rotate", "1h")
	select {
	case <-r.stderr.seen:
	case err := <-r.done:
		t.Fatalf("exited before listening (%v): %s", err, r.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("not listening after 20s: %s", r.stderr)
	}
	v.replay(t, file, "--mbps=100")
	time.Sleep(1200 * time.Millisecond)
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("exit: %v: %s", err, r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("did not stop: %s", r.stderr)
	}
	// with --rotate the log was renamed with its span at exit
	logs, _ := filepath.Glob(filepath.Join(out, "conn.*.json"))
	if len(logs) != 1 {
		t.Fatalf("logs %v: %s", logs, r.stderr)
	}
	st, err := os.Stat(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid == 0 {
		t.Errorf("log written by uid %d, want nobody", uid)
	}
	liveCompare(t, want, liveConnSet(t, logs[0]))
}

// TestServiceMissingCapability: without one of the service's
// capabilities, fastsniff -i fails at once with an error naming it.
func TestServiceMissingCapability(t *testing.T) {
	v := newLiveNS(t)
	caps := serviceCaps(t)
	bin, out := buildForNobody(t)
	for i, missing := range caps {
		t.Run(missing, func(t *testing.T) {
			rest := append(append([]string(nil), caps[:i]...), caps[i+1:]...)
			r := startCapRun(t, v, bin, rest, "--conn-log", filepath.Join(out, "c.json"))
			select {
			case err := <-r.done:
				if err == nil {
					t.Fatalf("exit 0 without %s: %s", missing, r.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("still running without %s: %s", missing, r.stderr)
			}
			msg := r.stderr.String()
			if !strings.Contains(msg, "needs "+missing) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("error %q: want one line naming %s", msg, missing)
			}
		})
	}
}
