package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fastsniff/fastsniff/engine/decode"
	"github.com/fastsniff/fastsniff/outputs/communityid"
	"github.com/fastsniff/fastsniff/outputs/connlog"
)

// tunnelOptions are the flags about encapsulated traffic.
type tunnelOptions struct {
	key         bool
	outerFanout bool
	names       *decode.TunnelNames // with key: the chains' text for the conn log, shared by the workers
}

func addTunnelFlags(fs *flag.FlagSet, t *tunnelOptions) {
	fs.BoolVar(&t.outerFanout, "outer-fanout", false, "with -i: spread packets over the workers by the kernel's hash of the outer headers instead of the innermost flow (all flows of one tunnel then go to one worker)")
	fs.BoolVar(&t.key, "tunnel-key", false, "add the tunnel (its chain of encapsulations and their ids: VNI, GRE key, ERSPAN session, TEID...) to the flow key, and name it in the conn log's tunnel field")
}

// decodeConfig is the decoder configuration of -r and -i alike.
func (o *options) decodeConfig() decode.Config {
	if o.tunnel.key && o.tunnel.names == nil {
		o.tunnel.names = decode.NewTunnelNames()
	}
	return decode.Config{VerifyChecksums: o.checksums, TunnelKey: o.tunnel.key, Names: o.tunnel.names}
}

// connlogOptions are the conn log's options.
func (o *options) connlogOptions() connlog.Options {
	opt := connlog.Options{Digest: o.digest, Capture: o.rotate.capture, CommunityID: o.communityID(), LocalNets: o.localNets}
	if o.tunnel.key {
		o.decodeConfig() // makes the names
		opt.Tunnels = o.tunnel.names
	}
	return opt
}

// printTunnels adds the summary's tunnel line (nothing when no packet was
// encapsulated): TCP segments found inside tunnels, layers opened by kind.
func printTunnels(w io.Writer, st *decode.Stats) {
	var by []string
	for k := decode.TunnelKind(1); k < decode.NumTunnelKinds; k++ {
		if n := st.TunnelLayers[k]; n > 0 {
			by = append(by, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(by) == 0 {
		return
	}
	fmt.Fprintf(w, "tunnels: %d tcp segments inside; layers opened: %s\n", st.Tunnelled, strings.Join(by, ", "))
}

// communityID is the logs' community_id option.
func (o *options) communityID() communityid.Field {
	return communityid.Field{On: o.cid, Seed: uint16(o.cidSeed)}
}
