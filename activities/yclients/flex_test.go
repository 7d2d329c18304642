package yclients

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlexInt(t *testing.T) {
	cases := []struct {
		in   string
		want FlexInt
	}{
		{`79067`, 79067}, {`"79067"`, 79067}, {`" 42 "`, 42}, {`"2700.00"`, 2700}, {`2700.0`, 2700},
		{`-1`, -1}, {`"-1"`, -1}, {`null`, 0}, {`""`, 0}, {`0`, 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got FlexInt
			require.NoError(t, json.Unmarshal([]byte(c.in), &got))
			require.Equal(t, c.want, got, "got %d want %d", got, c.want)
		})
	}
	t.Run("rejects fractions and words", func(t *testing.T) {
		for _, in := range []string{`"12.5"`, `"abc"`, `12.5`} {
			var got FlexInt
			require.Error(t, json.Unmarshal([]byte(in), &got), in)
		}
	})
	t.Run("inside a struct", func(t *testing.T) {
		var v struct {
			ID FlexInt `json:"id"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"id":"83169"}`), &v))
		require.Equal(t, FlexInt(83169), v.ID)
	})
}

func TestFlexFloat(t *testing.T) {
	cases := []struct {
		in   string
		want FlexFloat
	}{
		{`"1000.00"`, 1000}, {`1300`, 1300}, {`990.99`, 990.99}, {`"1300,50"`, 1300.5},
		{`null`, 0}, {`""`, 0}, {`"0"`, 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got FlexFloat
			require.NoError(t, json.Unmarshal([]byte(c.in), &got))
			require.InDelta(t, float64(c.want), float64(got), 1e-9)
		})
	}
	t.Run("rejects words", func(t *testing.T) {
		var got FlexFloat
		require.Error(t, json.Unmarshal([]byte(`"дорого"`), &got))
	})
	t.Run("rejects NaN and infinities", func(t *testing.T) {
		for _, in := range []string{`"NaN"`, `"nan"`, `"inf"`, `"-Infinity"`, `"+Inf"`} {
			var got FlexFloat
			require.Error(t, json.Unmarshal([]byte(in), &got), "%s: got %v", in, got)
		}
	})
}

func TestFlexBool(t *testing.T) {
	cases := []struct {
		in   string
		want FlexBool
	}{
		{`true`, true}, {`false`, false}, {`1`, true}, {`0`, false}, {`"1"`, true}, {`"0"`, false},
		{`"true"`, true}, {`"false"`, false}, {`""`, false}, {`null`, false}, {`2`, true}, {`"1.0"`, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got FlexBool
			require.NoError(t, json.Unmarshal([]byte(c.in), &got))
			require.Equal(t, c.want, got)
		})
	}
	t.Run("rejects words", func(t *testing.T) {
		var got FlexBool
		require.Error(t, json.Unmarshal([]byte(`"maybe"`), &got))
	})
}

func TestFlexString(t *testing.T) {
	cases := []struct {
		in   string
		want FlexString
	}{
		{`"+7 495 509-24-46"`, "+7 495 509-24-46"}, {`70001234567`, "70001234567"},
		{`null`, ""}, {`""`, ""}, {`true`, "true"}, {`"Анна"`, "Анна"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got FlexString
			require.NoError(t, json.Unmarshal([]byte(c.in), &got))
			require.Equal(t, c.want, got)
		})
	}
	t.Run("rejects objects", func(t *testing.T) {
		var got FlexString
		require.Error(t, json.Unmarshal([]byte(`{"a":1}`), &got))
	})
}

func TestFlexTime(t *testing.T) {
	plus9 := time.FixedZone("", 9*3600)
	cases := []struct {
		in         string
		want       time.Time
		wantOffset int
	}{
		{`"2019-01-16 16:00:00"`, time.Date(2019, 1, 16, 16, 0, 0, 0, time.UTC), 0},
		{`"2019-01-16T16:00:00+09:00"`, time.Date(2019, 1, 16, 16, 0, 0, 0, plus9), 9 * 3600},
		{`"2019-01-16T20:35:11+0900"`, time.Date(2019, 1, 16, 20, 35, 11, 0, plus9), 9 * 3600},
		{`"2019-01-16"`, time.Date(2019, 1, 16, 0, 0, 0, 0, time.UTC), 0},
		{`1547622000`, time.Unix(1547622000, 0), 0},
		{`"1547622000"`, time.Unix(1547622000, 0), 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got FlexTime
			require.NoError(t, json.Unmarshal([]byte(c.in), &got))
			require.True(t, c.want.Equal(got.Time), "got %s want %s", got.Time, c.want)
			_, off := got.Zone()
			require.Equal(t, c.wantOffset, off, "the offset from the API is kept")
		})
	}
	for _, in := range []string{`null`, `""`, `0`, `"0000-00-00 00:00:00"`} {
		t.Run("zero "+in, func(t *testing.T) {
			got := FlexTime{Time: time.Now()}
			require.NoError(t, json.Unmarshal([]byte(in), &got))
			require.True(t, got.IsZero())
		})
	}
	t.Run("rejects garbage", func(t *testing.T) {
		var got FlexTime
		require.Error(t, json.Unmarshal([]byte(`"16 января"`), &got))
	})
	// Found by FuzzParseWebhook: a unix time after the year 9999 decoded, and the record could
	// not then be encoded into a Temporal payload (the dispatcher retried it until it went dead).
	t.Run("the last second of 9999, and no later", func(t *testing.T) {
		var got FlexTime
		require.NoError(t, json.Unmarshal([]byte(`253402300799`), &got))
		require.Equal(t, 9999, got.Year(), "got %s", got.Time)
		require.Error(t, json.Unmarshal([]byte(`253402300800`), &got), "got %s", got.Time)
		require.Error(t, json.Unmarshal([]byte(`"270000000000"`), &got), "got %s", got.Time)
	})
}

func TestFlexPosition(t *testing.T) {
	cases := map[string]string{
		`{"id":1,"title":"Администратор"}`: "Администратор",
		`{}`:       "",
		`[]`:       "",
		`null`:     "",
		`"Мастер"`: "Мастер",
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			var got flexPosition
			require.NoError(t, json.Unmarshal([]byte(in), &got))
			require.Equal(t, want, string(got))
		})
	}
}

// FuzzParseTime: ParseTime, which skips the layouts a text's shape rules out, answers as
// trying every layout in order did.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2019-01-16 16:00:00", "2019-01-16T16:00:00+09:00", "2019-01-16T20:35:11+0900",
		"2019-01-16", "1547622000", "2019-01-16T16:00:00Z", "2019-01-16 16:00", "2019-01-16T16:00:00",
		"2019-01-16 16:00:00+03:00", "2019-01-16 16:00:00+0300", "2019-01-16T20:35:11.5+0900",
		"2019-01-16T16:00:00.123456789+09:00", "2019-01-16T16:00:0+0900", " 2019-01-16 ", "2019-1-16",
		"2019-01-16T16:00:00+09:0Z", "", "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		want, wantErr := parseTimeEveryLayout(s)
		require.Equal(t, wantErr == nil, err == nil, "%q: %v against %v", s, err, wantErr)
		require.Equal(t, want, got, "%q", s)
	})
}

// parseTimeEveryLayout is ParseTime as it was, trying every layout in order.
func parseTimeEveryLayout(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if isDigits(s) {
		return ParseTime(s)
	}
	for _, layout := range flexTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unknown layout")
}

// FuzzScalarText: a plain string's text, read without encoding/json, is what encoding/json
// reads.
func FuzzScalarText(f *testing.F) {
	for _, s := range []string{`"abc"`, `" a "`, `"\u0041"`, `"a"b"`, `"ab`, "\"a\x01\"", "\"\xff\"", `""`, `"`, `12`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := scalarText(b)
		want, wantOK := scalarTextWithEncodingJSON(b)
		require.Equal(t, wantOK, ok, "%q", b)
		require.Equal(t, want, got, "%q", b)
	})
}

// scalarTextWithEncodingJSON is scalarText as it was, every string through encoding/json.
func scalarTextWithEncodingJSON(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || b[0] == '{' || b[0] == '[' {
		return "", false
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	return string(b), true
}
