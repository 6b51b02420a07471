package analyze

import (
	"fmt"
	"testing"

	"skiff.dev/skiff/pkg/analyze/internal/benchdata"
)

// BenchmarkAnalyze measures reading, decoding, schema-checking and analysing N resources from files
// (services, deployments, virtual services, destination rules); ns/op should grow linearly with N.
func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) { benchmarkAnalyze(b, n) })
	}
}

// BenchmarkAnalyze10k is the headline number: 10,000 resources analysed from files.
func BenchmarkAnalyze10k(b *testing.B) { benchmarkAnalyze(b, 10000) }

func benchmarkAnalyze(b *testing.B, n int) {
	dir := b.TempDir()
	if _, err := benchdata.Write(dir, n); err != nil {
		b.Fatal(err)
	}
	o := offline(dir)
	st, err := o.validate()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := analyze(b.Context(), o, st)
		if err != nil {
			b.Fatal(err)
		}
		// Each application's v2 subset has no workload: one SKF0003 per application.
		if got := countCode(res.Messages, SubsetLabelsMatchNoWorkload.Code); got != n/4 {
			b.Fatalf("%d SKF0003 messages, want %d:\n%s", got, n/4, fullText(res.Messages[:min(10, len(res.Messages))]))
		}
	}
	b.ReportMetric(float64(n), "resources")
}

func countCode(ms []Message, code string) int {
	n := 0
	for _, m := range ms {
		if m.Type.Code == code {
			n++
		}
	}
	return n
}
