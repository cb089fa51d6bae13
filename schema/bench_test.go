package schema

import "testing"

// BenchmarkValidate measures the hot path: every job is validated once before its first send.
func BenchmarkValidate(b *testing.B) {
	v := newValidator(b)
	for _, bm := range []struct {
		kind Kind
		file string
	}{
		{KindCard, "card_group"},
		{KindCrossDomain, "crossdomain"},
		{KindRobot, "robot"},
	} {
		body := example(b, bm.file)
		b.Run(string(bm.kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := v.Validate(bm.kind, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
