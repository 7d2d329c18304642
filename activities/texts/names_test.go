package texts

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSalonNameForms(t *testing.T) {
	cases := []struct {
		in   string
		name string // salonName: to put inside «…»
		tail string // salonTail: what follows «салон» in our texts
	}{
		{"Бархат", "Бархат", " «Бархат»"},
		{"«Бархат»", "Бархат", " «Бархат»"},
		{`"Бархат"`, "Бархат", " «Бархат»"},
		{"“Бархат”", "Бархат", " «Бархат»"},
		{"„Бархат“", "Бархат", " «Бархат»"},
		{"'Бархат'", "Бархат", " «Бархат»"},
		{`«"Бархат"»`, "Бархат", " «Бархат»"},
		{" «Бархат». ", "Бархат", " «Бархат»"},
		{`""`, "", ""},
		{`"`, "", ""},
		{"«»", "", ""},
		{"«Бархат", "Бархат", " «Бархат»"}, // a quote without a pair is dropped
		{`Бархат"`, "Бархат", " «Бархат»"}, // and so is this one
		// The name carries its own quotes: never wrapped again, the generic «Салон» not doubled.
		{"Салон «Бархат» 760002", "Салон „Бархат“ 760002", " «Бархат» 760002"},
		{`Салон "Бархат"`, "Салон „Бархат“", " «Бархат»"},
		{`Салон красоты "Бархат"`, "Салон красоты „Бархат“", " красоты «Бархат»"},
		{"салон красоты «Бархат»", "салон красоты „Бархат“", " красоты «Бархат»"},
		{`Студия красоты "Приморье"`, "Студия красоты „Приморье“", " «Приморье»"},
		{`Beauty-бар "Янтарь"`, "Beauty-бар „Янтарь“", " «Янтарь»"},
		{"«Бархат» и «Ко»", "„Бархат“ и „Ко“", " «Бархат» и «Ко»"}, // not one quoted whole
		{"«Бархат» на Тверской", "„Бархат“ на Тверской", " «Бархат» на Тверской"},
		{"Салон «Бархат «Люкс»»", "Салон „Бархат „Люкс““", " «Бархат „Люкс“»"}, // inner levels are „…“
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			require.Equal(t, c.name, salonName(c.in), "salonName(%q)", c.in)
			require.Equal(t, c.name, SalonName(c.in))
			require.Equal(t, c.tail, salonTail(c.in), "salonTail(%q)", c.in)
		})
	}
	t.Run("a long name with quotes is cut without leaving one open", func(t *testing.T) {
		long := "Салон «" + strings.Repeat("Бархат ", 20) + "»"
		for _, s := range []string{salonName(long), salonTail(long)} {
			require.Equal(t, strings.Count(s, "«"), strings.Count(s, "»"), s)
			require.NotContains(t, s, "„", s)
			require.True(t, strings.HasSuffix(s, "…") || strings.HasSuffix(s, "…»"), s)
		}
	})
}

// The demo's salon name used to come out as «Салон «Бархат» 760002» inside our own quotes.
func TestSalonNameNeverDoubleQuoted(t *testing.T) {
	start := time.Date(2026, 12, 12, 11, 30, 0, 0, time.UTC)
	names := []string{"Салон «Бархат» 760002", `Салон красоты "Бархат"`, "«Бархат»", `"«Бархат»"`, `Студия "Приморье"`, `Салон «Бархат «Люкс»»`}
	for _, name := range names {
		for k := range defaults {
			v := Visit{Start: start, PreviousStart: start.Add(-time.Hour), ClientName: "Анна"}
			got, err := Render(k, Salon{Name: name, Phone: "+7 495 123-45-67"}, v, nil)
			require.NoError(t, err)
			requireTidyf(t, got, name)
			for _, bad := range []string{"««", "»»", "салон Салон", "салоне Салон", "салона Салон", "салону Салон", "салон «Салон", "салоне «Салон", `"`} {
				require.NotContains(t, got, bad, "%s, %s:\n%s", name, k, got)
			}
			require.Equal(t, strings.Count(got, "«"), strings.Count(got, "»"), got)
		}
		got := OwnerLowScore(Salon{Name: name}, Visit{}, 2, "")
		require.NotContains(t, got, "««", got)
	}
	got, err := Render(Confirmation, Salon{Name: `Салон красоты "Бархат"`}, Visit{Start: start}, nil)
	require.NoError(t, err)
	require.Contains(t, got, "Вы записаны в салон красоты «Бархат» в субботу, 12 декабря, в 14:30.")
	got, err = Render(ReminderDay, Salon{Name: "Салон «Бархат» 760002"}, Visit{Start: start}, nil)
	require.NoError(t, err)
	require.Contains(t, got, "ждём вас в салоне «Бархат» 760002.")
}
