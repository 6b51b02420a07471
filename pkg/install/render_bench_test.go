package install

import "testing"

// BenchmarkRenderDemo measures what `skiff manifest generate --profile demo` does in-process: resolve the
// profile, render every object (CRDs included) and serialise the YAML.
func BenchmarkRenderDemo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := LoadProfile(ProfileOptions{Profile: "demo"})
		if err != nil {
			b.Fatal(err)
		}
		ms, err := Render(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MarshalYAML(AllObjects(ms)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderDemoObjects is BenchmarkRenderDemo without the YAML serialisation (what install does
// before applying), to tell rendering cost from serialisation cost.
func BenchmarkRenderDemoObjects(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := LoadProfile(ProfileOptions{Profile: "demo"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Render(p); err != nil {
			b.Fatal(err)
		}
	}
}
