package flowgen

import (
	"io"
	"testing"
)

func BenchmarkGenerate(b *testing.B) {
	cfg := Bench(1, 100_000)
	for b.Loop() {
		if _, err := Generate(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePcap(b *testing.B) {
	c, err := Generate(Bench(1, 100_000))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := c.WritePcap(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.Len()), "packets/op")
}
