package metrics

// NATSStats are the NATS sink's counters (outputs/natsink.Stats).
type NATSStats struct {
	Published  uint64 // records published (first time in this run)
	Acked      uint64 // records acknowledged by the stream
	Retried    uint64 // publishes sent again
	Spooled    uint64 // records written to the spool (the cluster fell behind, or at exit)
	Replayed   uint64 // records left by a previous run, acknowledged now
	Dropped    uint64 // records dropped because the spool was full
	SpoolBytes uint64 // bytes in the spool not yet acknowledged
	Unacked    uint64 // records not yet acknowledged (in memory or in the spool)
	Connected  bool
}

func natsMetric(n, help string, typ int, f func(*NATSStats) uint64) metric {
	m := counter(n, help, nil)
	if typ == 1 {
		m = gauge(n, help, nil)
	}
	m.val = func(s *Snapshot) (float64, bool) {
		if s.NATS == nil {
			return 0, false
		}
		return float64(f(s.NATS)), true
	}
	return m
}

// natsPlain are the --nats metrics, reported only with --nats.
var natsPlain = []metric{
	natsMetric("nats_published_total", "Records published to NATS JetStream (first time in this run).", 0, func(n *NATSStats) uint64 { return n.Published }),
	natsMetric("nats_acked_total", "Records acknowledged by the stream.", 0, func(n *NATSStats) uint64 { return n.Acked }),
	natsMetric("nats_retried_total", "Publishes sent again after a failure or an ack timeout.", 0, func(n *NATSStats) uint64 { return n.Retried }),
	natsMetric("nats_spooled_total", "Records written to the on-disk spool (when the cluster falls behind, and at exit what is unacknowledged).", 0, func(n *NATSStats) uint64 { return n.Spooled }),
	natsMetric("nats_replayed_total", "Records a previous run left in the spool, acknowledged in this one.", 0, func(n *NATSStats) uint64 { return n.Replayed }),
	natsMetric("nats_dropped_total", "Records dropped because the spool was full.", 0, func(n *NATSStats) uint64 { return n.Dropped }),
	natsMetric("nats_spool_bytes", "Bytes in the spool not yet acknowledged.", 1, func(n *NATSStats) uint64 { return n.SpoolBytes }),
	natsMetric("nats_unacked_records", "Records not yet acknowledged (in memory or in the spool).", 1, func(n *NATSStats) uint64 { return n.Unacked }),
	natsMetric("nats_connected", "1 while connected to a NATS server.", 1, func(n *NATSStats) uint64 {
		if n.Connected {
			return 1
		}
		return 0
	}),
}
