package browsertest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b RGB
		want float64
	}{
		{RGB{0, 0, 0}, RGB{255, 255, 255}, 21},
		{RGB{255, 255, 255}, RGB{255, 255, 255}, 1},
		{RGB{0x76, 0x76, 0x76}, RGB{255, 255, 255}, 4.54}, // the lightest grey that passes AA on white
		{RGB{255, 255, 255}, RGB{0x12, 0x8c, 0x7e}, 4.14}, // the page's old green: fails
	} {
		got := ContrastRatio(tc.a, tc.b)
		require.InDelta(t, tc.want, got, 0.01, "rgb%v on rgb%v: got %.2f want %.2f", tc.a, tc.b, got, tc.want)
		require.InDelta(t, got, ContrastRatio(tc.b, tc.a), 1e-9, "the ratio is symmetric")
	}
}
