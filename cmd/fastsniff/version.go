package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// errVersion is parseArgs' way of saying --version was given.
var errVersion = errors.New("version")

// printVersion prints what --version shows: the module version and the
// build's VCS stamp (revision, time, modified) and Go version, as
// recorded by the Go toolchain in the binary.
func printVersion(w io.Writer) {
	version, rev, when, modified := "(devel)", "unknown", "unknown", ""
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(w, "fastsniff %s\nrevision %s%s\ncommit time %s\n%s %s/%s\n", version, rev, modified, when, goVersion, runtime.GOOS, runtime.GOARCH)
}
