package metrics

import "testing"

// The NATS metrics are there with a NATS source only, with its values.
func TestNATSMetrics(t *testing.T) {
	col := NewCollector()
	srv, err := Listen("127.0.0.1:0", col)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if m := Scrape(t, srv.Addr().String()); len(m) == 0 {
		t.Fatal("no metrics")
	} else if _, ok := m["fastsniff_nats_acked_total"]; ok {
		t.Error("NATS metrics without a NATS source")
	}
	col.Set("nats", func(s *Snapshot) {
		s.NATS = &NATSStats{Published: 10, Acked: 9, Retried: 3, Spooled: 10, Replayed: 2, Dropped: 1, SpoolBytes: 4096, Unacked: 1, Connected: true}
	})
	m := Scrape(t, srv.Addr().String())
	for name, want := range map[string]float64{
		"fastsniff_nats_published_total": 10,
		"fastsniff_nats_acked_total":     9,
		"fastsniff_nats_retried_total":   3,
		"fastsniff_nats_spooled_total":   10,
		"fastsniff_nats_replayed_total":  2,
		"fastsniff_nats_dropped_total":   1,
		"fastsniff_nats_spool_bytes":     4096,
		"fastsniff_nats_unacked_records": 1,
		"fastsniff_nats_connected":       1,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}
