package main

import (
	"testing"
	"time"
)

// The -r tap is installed only when something needs every packet: -w or
// --rotate. Without one, each worker decodes only its own flows' frames.
func TestTapHookOnlyWhenNeeded(t *testing.T) {
	for _, c := range []struct {
		name   string
		set    func(o *options)
		wantOn bool
	}{
		{"plain", func(*options) {}, false},
		{"-w", func(o *options) { o.write.path = "out.pcap" }, true},
		{"--rotate", func(o *options) { o.rotate.interval = time.Hour }, true},
	} {
		var o options
		c.set(&o)
		if got := (&captureTap{}).hook(&o) != nil; got != c.wantOn {
			t.Errorf("%s: tap installed %v, want %v", c.name, got, c.wantOn)
		}
	}
}
