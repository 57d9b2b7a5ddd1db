package main

import (
	"context"
	"errors"
	"flag"
	"io"
)

// liveOptions are the flags of a live capture (-i).
type liveOptions struct {
	iface string
}

func addLiveFlags(fs *flag.FlagSet, o *liveOptions) {
	fs.StringVar(&o.iface, "i", "", "capture live on interface `IFACE` (AF_PACKET, TPACKET_V3)")
}

// runLive is `fastsniff -i`.
func runLive(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	return errors.New("live capture (-i) is not built yet: use -r")
}
