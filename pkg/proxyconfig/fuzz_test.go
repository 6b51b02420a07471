package proxyconfig

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
)

// FuzzDecodeRender: whatever an admin port answers, decoding fails with an error or every view renders;
// never a panic.
func FuzzDecodeRender(f *testing.F) {
	dump, err := TranslateDump(goldenCases[1].opts)
	if err != nil {
		f.Fatal(err)
	}
	b, err := protojson.Marshal(dump)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"configs":[{"@type":"type.googleapis.com/unknown.Thing","a":[1,{"@type":"x"}]}]}`))
	f.Add([]byte(`{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamicListeners":[{"activeState":{}}]}]}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			return
		}
		for _, v := range Views() {
			for _, o := range []Output{Short, JSON, YAML} {
				if err := Render(io.Discard, d, RenderOptions{View: v, Output: o}); err != nil && o == Short {
					t.Fatalf("%s table: %v", v, err)
				}
			}
		}
	})
}

// BenchmarkRenderAll measures decoding a live-sized dump and printing every table.
func BenchmarkRenderAll(b *testing.B) {
	dump, err := TranslateDump(goldenCases[0].opts)
	if err != nil {
		b.Fatal(err)
	}
	js, err := protojson.Marshal(dump)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(js)))
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		d, err := Decode(js)
		if err != nil {
			b.Fatal(err)
		}
		if err := Render(&out, d, RenderOptions{View: All}); err != nil {
			b.Fatal(err)
		}
	}
}
