package fastyaml_test

import (
	"testing"

	"skiff.dev/skiff/internal/fastyaml/fastyamltest"
)

// Inputs near the edges of the subset: each is either declined or parsed exactly as yaml.v3 does.
var tricky = []string{
	"a: &x 1\nb: *x\n", "a: |\n  text\n", "a: b\n  c\n", "a: 'it''s'\n", "a: \"x\\ty\"\n", "a: 0x1F\n", "a: 2001-12-14\n",
	"a: 012\n", "a: 1_000\n", "a: .inf\n", "a: 1e3\n", "a: -\n", "- - a\n  - b\n- c\n", "a:\n- b\n- c\nd: e\n", "a: {b: [1, 2], c: {}}\n",
	"? a\n: b\n", "a: b: c\n", "a:    x   \n", "'k': v\n", "a: [b, c\n", "a: yes\n", "a: ~\n", "a:\n", "a: x # c\n", "a: x#y\n",
	"- a: 1\n  b: 2\n- {c: 3}\n", "a: !!str 1\n", "a: {b: c:d}\n", "a: [b: c]\n", "  a: 1\n b: 2\n", "a: 1.5s\n", "a: 10Gi\n",
	"a: 1\nb: -2\nc: 1.5\nd: 0\ne: 007\nf: 0x1F\ng: 1e3\nh: .inf\ni: +1\nj: 1_000\n",
	"a: true\nb: False\nc: yes\nd: on\ne: ~\nf: null\ng:\nh: NULL\n",
	"a: 100m\nb: 128Mi\nc: 15090,15021\nd: 10.0.0.0/8\ne: 2024-01-01\nf: 1.2.3\ng: 0b1\nh: 3d\n",
	"a: \"quoted: #x\"\nb: \"esc \\\" \\\\ \\n \\u00e9\"\nc: 'single'\nd: \"\\x41\"\n",
	"a: \"esc \\\" \\\\ \"\nb: [\"x\\\"y\", {\"k\": \"v\\\\\"}]\n",
	"list:\n- a\n- b: 1\n  c: 2\n-\n  d: 3\n- - nested\n",
	"k:\n  - x\n  - y\nm: {}\nn: []\no: [\"skiff\", \"agent\"]\np: [1, 2]\nq: {\"a\": \"b\"}\n",
	"a: |\n  block\nb: >\n  folded\n",
	"a: &x 1\nb: *x\nc: !!str 2\n",
	"a: multi\n  line\n",
	"a: value # comment\n",
	"# only a comment\n",
	"\"quoted key\": 1\n\"k\":2\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
	"a: 1\na: 2\n",
	"- a\n- b\n",
	"a:b\n",
	"a: b:c\nd: x:y z\n",
	"a:\n- 1\n- x\nb: 2\n",
	"\ta: 1\n",
	"1: a\ntrue: b\n",
	"a: +7\nb: -0\nc: 1.\nd: .5\ne: -1.5e3\n",
	"args:\n- --concurrency=2\n- -p\n- --log_output_level=default:info\n",
}

func TestMatchesYAMLv3(t *testing.T) {
	accepted := 0
	for _, s := range tricky {
		if fastyamltest.CheckParse(t, []byte(s)) {
			accepted++
		}
		fastyamltest.CheckDecode(t, s)
	}
	if accepted < len(tricky)/3 {
		t.Errorf("only %d of %d edge cases took the fast path", accepted, len(tricky))
	}
}

// FuzzParse holds Parse to yaml.v3's node tree on whatever it accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a: b\n", "- a: 1\n  b: [x, 'y']\n", "a:\n  b:\n  - c: {d: 1.5}\n", "a: 'x'' y'\n"} {
		f.Add([]byte(s))
	}
	for _, s := range tricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fastyamltest.CheckParse(t, data) })
}

// FuzzDecode holds Decode to yaml.v3's Unmarshal into `any`: it may decline, never differ.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb:\n- x\n- y: \"z\"\n", "k: [\"a\"]\n", "a: 100m\nb: 1.5\nc: -3\n", "- a\n-\n  b: c\n",
		"a:\n  b: 10.0.0.0/8\n  c: 15090,15021\n", "\"q\": \"\\u00e9\"\n",
	} {
		f.Add(s)
	}
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { fastyamltest.CheckDecode(t, text) })
}
