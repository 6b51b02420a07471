package fastyaml

import "testing"

func TestPlainNumbers(t *testing.T) {
	for s, want := range map[string][2]bool{ // isPlainInt, isPlainFloat
		"0": {true, false}, "-12": {true, false}, "+7": {true, false}, "012": {false, false}, "1234567890123456789": {false, false},
		"1.5": {false, true}, ".5": {false, true}, "-1.": {false, true}, "1.5e3": {false, true}, "1e3": {false, false},
		".": {false, false}, "1.5e": {false, false}, "-": {false, false}, "1.5s": {false, false},
	} {
		if got := [2]bool{isPlainInt(s), isPlainFloat(s)}; got != want {
			t.Errorf("%q: int/float = %v, want %v", s, got, want)
		}
	}
}
