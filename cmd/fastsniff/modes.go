package main

import (
	"flag"
	"fmt"
	"sort"
)

// liveOnlyFlags are the flags that mean something only for a live capture
// (-i). Given with -r they are an error naming them, never ignored. Every
// other flag applies to both sources (TestFlagModes checks each one).
var liveOnlyFlags = map[string]bool{
	"ring-size":        true,
	"block-size":       true,
	"block-timeout":    true,
	"no-promisc":       true,
	"s":                true,
	"Z":                true,
	"max-stream-bytes": true,
	"netns":            true,
	"outer-fanout":     true,
}

// offlineOnlyFlags mean something only when reading files (-r).
var offlineOnlyFlags = map[string]bool{}

// checkModeFlags rejects the flags given on the command line that do not
// apply to the chosen source.
func checkModeFlags(fs *flag.FlagSet, live bool) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if live && offlineOnlyFlags[f.Name] || !live && liveOnlyFlags[f.Name] {
			bad = append(bad, f.Name)
		}
	})
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	name := "-" + bad[0]
	if len(bad[0]) > 1 {
		name = "-" + name
	}
	if live {
		return fmt.Errorf("%s applies only to reading files (-r), not to a live capture (-i)", name)
	}
	return fmt.Errorf("%s applies only to a live capture (-i), not to reading files (-r)", name)
}
