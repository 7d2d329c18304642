package texts

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests name zones; do not depend on the host's zoneinfo

	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestFormatWhenZones(t *testing.T) {
	// One instant, late evening in Moscow: already the next morning in Vladivostok.
	instant := time.Date(2025, 12, 12, 20, 30, 0, 0, time.UTC)
	cases := []struct {
		zone string
		want string
	}{
		{"Europe/Moscow", "в пятницу, 12 декабря, в 23:30"},
		{"Asia/Vladivostok", "в субботу, 13 декабря, в 06:30"},
		{"Europe/Kaliningrad", "в пятницу, 12 декабря, в 22:30"},
		{"UTC", "в пятницу, 12 декабря, в 20:30"},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			got := FormatWhen(instant, mustLoad(t, c.zone))
			require.Equal(t, c.want, got, "got %q want %q", got, c.want)
		})
	}
	t.Run("nil location is Moscow", func(t *testing.T) {
		require.Equal(t, "в пятницу, 12 декабря, в 23:30", FormatWhen(instant, nil))
	})
	t.Run("input location does not matter", func(t *testing.T) {
		vlad := instant.In(mustLoad(t, "Asia/Vladivostok"))
		require.Equal(t, "в пятницу, 12 декабря, в 23:30", FormatWhen(vlad, mustLoad(t, "Europe/Moscow")))
	})
	t.Run("zero time", func(t *testing.T) {
		require.Equal(t, "", FormatWhen(time.Time{}, nil))
	})
}

func TestFormatWhenMonths(t *testing.T) {
	msk := mustLoad(t, "Europe/Moscow")
	want := []string{
		"в понедельник, 5 января, в 09:05", "в четверг, 5 февраля, в 09:05", "в четверг, 5 марта, в 09:05",
		"в воскресенье, 5 апреля, в 09:05", "во вторник, 5 мая, в 09:05", "в пятницу, 5 июня, в 09:05",
		"в воскресенье, 5 июля, в 09:05", "в среду, 5 августа, в 09:05", "в субботу, 5 сентября, в 09:05",
		"в понедельник, 5 октября, в 09:05", "в четверг, 5 ноября, в 09:05", "в субботу, 5 декабря, в 09:05",
	}
	for i, w := range want {
		got := FormatWhen(time.Date(2026, time.Month(i+1), 5, 9, 5, 0, 0, msk), msk)
		require.Equal(t, w, got, "month %d: got %q want %q", i+1, got, w)
	}
}

// Every weekday in each form the texts use: «в …» (FormatWhen), «на …» (a reschedule, a
// cancellation) and the nominative date.
func TestWeekdayForms(t *testing.T) {
	msk := mustLoad(t, "Europe/Moscow")
	want := []struct{ in, on, date string }{ // Monday 8 Dec 2025 onwards
		{"в понедельник, 8 декабря, в 10:00", "на понедельник, 8 декабря, на 10:00", "понедельник, 8 декабря"},
		{"во вторник, 9 декабря, в 10:00", "на вторник, 9 декабря, на 10:00", "вторник, 9 декабря"},
		{"в среду, 10 декабря, в 10:00", "на среду, 10 декабря, на 10:00", "среда, 10 декабря"},
		{"в четверг, 11 декабря, в 10:00", "на четверг, 11 декабря, на 10:00", "четверг, 11 декабря"},
		{"в пятницу, 12 декабря, в 10:00", "на пятницу, 12 декабря, на 10:00", "пятница, 12 декабря"},
		{"в субботу, 13 декабря, в 10:00", "на субботу, 13 декабря, на 10:00", "суббота, 13 декабря"},
		{"в воскресенье, 14 декабря, в 10:00", "на воскресенье, 14 декабря, на 10:00", "воскресенье, 14 декабря"},
	}
	for i, w := range want {
		d := time.Date(2025, 12, 8+i, 10, 0, 0, 0, msk)
		require.Equal(t, w.in, FormatWhen(d, msk))
		require.Equal(t, w.on, at("на", d))
		require.Equal(t, w.date, formatDate(d))
	}
}

func TestFormatWhenClock(t *testing.T) {
	msk := mustLoad(t, "Europe/Moscow")
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"midnight", time.Date(2026, 1, 1, 0, 0, 0, 0, msk), "в четверг, 1 января, в 00:00"},
		{"one past midnight", time.Date(2025, 12, 31, 0, 1, 0, 0, msk), "в среду, 31 декабря, в 00:01"},
		{"early hours", time.Date(2026, 3, 29, 3, 7, 0, 0, msk), "в воскресенье, 29 марта, в 03:07"},
		{"seconds are dropped", time.Date(2025, 12, 12, 14, 30, 59, 0, msk), "в пятницу, 12 декабря, в 14:30"},
		{"last minute", time.Date(2024, 2, 29, 23, 59, 0, 0, msk), "в четверг, 29 февраля, в 23:59"},
		{"two-digit day", time.Date(2025, 12, 13, 10, 0, 0, 0, msk), "в субботу, 13 декабря, в 10:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, FormatWhen(c.in, msk))
		})
	}
}

func TestJoinServices(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want string
	}{
		{"none", nil, ""},
		{"one", []string{"Стрижка"}, "Стрижка"},
		{"two", []string{"стрижка", "укладка"}, "стрижка и укладка"},
		{"three", []string{"маникюр", "педикюр", "брови"}, "маникюр, педикюр и брови"},
		{"four", []string{"Маникюр", "Педикюр", "Брови", "Ресницы"}, "Маникюр, Педикюр, Брови и Ресницы"},
		{"blank titles dropped", []string{" ", "Стрижка", "", "  Укладка \n"}, "Стрижка и Укладка"},
		{"inner whitespace collapsed", []string{"Стрижка\n  женская"}, "Стрижка женская"},
		{"only blanks", []string{"", " "}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := joinServices(c.in)
			require.Equal(t, c.want, got, "got %q want %q", got, c.want)
		})
	}
	t.Run("long list is cut with a count", func(t *testing.T) {
		var in []string
		for range 30 {
			in = append(in, "Комплексный уход за волосами")
		}
		got := joinServices(in)
		require.LessOrEqual(t, len([]rune(got)), maxServicesLen+30)
		require.True(t, strings.HasSuffix(got, " и ещё 24 услуги"), "got %q", got)
	})
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{1: "услуга", 2: "услуги", 4: "услуги", 5: "услуг", 11: "услуг", 12: "услуг", 21: "услуга", 24: "услуги", 111: "услуг"} {
		require.Equal(t, want, plural(n, "услуга", "услуги", "услуг"), "n=%d", n)
	}
}

func TestRelativeDay(t *testing.T) {
	msk := mustLoad(t, "Europe/Moscow")
	vlad := mustLoad(t, "Asia/Vladivostok")
	at := func(loc *time.Location, d, h, m int) time.Time { return time.Date(2025, 12, d, h, m, 0, 0, loc) }
	cases := []struct {
		name       string
		now, start time.Time
		loc        *time.Location
		want       string
	}{
		{"no clock", time.Time{}, at(msk, 12, 14, 30), msk, ""},
		{"same day", at(msk, 12, 9, 0), at(msk, 12, 14, 30), msk, "сегодня"},
		{"next day", at(msk, 11, 10, 0), at(msk, 12, 14, 30), msk, "завтра"},
		{"next day, just after midnight", at(msk, 11, 23, 50), at(msk, 12, 0, 10), msk, "завтра"},
		{"two days ahead, under 48h", at(msk, 10, 23, 0), at(msk, 12, 9, 0), msk, ""},
		{"46 hours ahead, next calendar day", at(msk, 11, 1, 0), at(msk, 12, 23, 0), msk, "завтра"},
		{"past", at(msk, 13, 9, 0), at(msk, 12, 14, 30), msk, ""},
		{"month end", time.Date(2025, 12, 31, 12, 0, 0, 0, msk), time.Date(2026, 1, 1, 12, 0, 0, 0, msk), msk, "завтра"},
		// 23:00 UTC on the 11th is the 12th in Vladivostok: the visit on the 12th is today there,
		// though on a UTC server clock it would look like tomorrow.
		{"salon zone, not server zone", time.Date(2025, 12, 11, 23, 0, 0, 0, time.UTC), at(vlad, 12, 18, 0), vlad, "сегодня"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, relativeDay(c.now, c.start, c.loc))
		})
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  Анна  ":          "Анна",
		"Анна.":             "Анна",
		"ул. Ленина, 5,":    "ул. Ленина, 5",
		"-":                 "",
		"«»":                "",
		"Анна\nИванова":     "Анна Иванова",
		"Анна\u00a0Иванова": "Анна Иванова",
	} {
		require.Equal(t, want, clean(in), "clean(%q)", in)
	}
}
