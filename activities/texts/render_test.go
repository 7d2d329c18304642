package texts

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

var allKinds = []Kind{Confirmation, Change, Cancellation, ReminderDay, Reminder2h, OptOutAck, ClientWelcome}

// fixture: a visit on Friday 12 Dec 14:30 Moscow, moved from Tuesday 9 Dec 12:00, reminded on
// Thursday 11 Dec.
func fixture(t *testing.T) (Salon, Visit) {
	t.Helper()
	msk := mustLoad(t, "Europe/Moscow")
	return Salon{
			Name:     "Бархат",
			Address:  "ул. Тверская, 12",
			Phone:    "+7 495 123-45-67",
			Location: msk,
		}, Visit{
			ClientName:    "Анна",
			Start:         time.Date(2025, 12, 12, 14, 30, 0, 0, msk),
			Services:      []string{"Стрижка", "Укладка"},
			StaffName:     "Оксана",
			PreviousStart: time.Date(2025, 12, 9, 12, 0, 0, 0, msk),
			Now:           time.Date(2025, 12, 11, 10, 0, 0, 0, msk),
		}
}

// bare keeps only the visit time.
func bare(v Visit) Visit { return Visit{Start: v.Start} }

func TestRenderDefaults(t *testing.T) {
	salon, full := fixture(t)
	cases := []struct {
		name  string
		kind  Kind
		salon Salon
		visit Visit
		want  string
	}{
		{"confirmation, all fields", Confirmation, salon, full, `Анна, здравствуйте!
Вы записаны в салон «Бархат» на пт, 12 дек в 14:30: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, nothing optional", Confirmation, Salon{}, bare(full), `Здравствуйте!
Вы записаны на пт, 12 дек в 14:30.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, staff only", Confirmation, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Вы записаны на пт, 12 дек в 14:30. Вас примет мастер Оксана.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, one service", Confirmation, Salon{}, Visit{Start: full.Start, Services: []string{"Маникюр"}}, `Здравствуйте!
Вы записаны на пт, 12 дек в 14:30: Маникюр.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"change of time, all fields", Change, salon, full, `Анна, здравствуйте!
Ваша запись в салон «Бархат» перенесена с вт, 9 дек в 12:00 на пт, 12 дек в 14:30: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Ждём вас!`},
		{"change of time, nothing optional", Change, Salon{}, Visit{Start: full.Start, PreviousStart: full.PreviousStart}, `Здравствуйте!
Ваша запись перенесена с вт, 9 дек в 12:00 на пт, 12 дек в 14:30.
Ждём вас!`},
		{"change of staff and services", Change, salon, Visit{ClientName: "Анна", Start: full.Start, Services: full.Services, StaffName: "Оксана"}, `Анна, здравствуйте!
Ваша запись в салон «Бархат» на пт, 12 дек в 14:30 изменена, время прежнее.
Теперь в записи: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Ждём вас!`},
		{"change of staff only", Change, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Ваша запись на пт, 12 дек в 14:30 изменена, время прежнее.
Теперь вас примет мастер Оксана.
Ждём вас!`},
		{"change of services only", Change, Salon{}, Visit{Start: full.Start, Services: []string{"Маникюр", "Педикюр", "Брови"}}, `Здравствуйте!
Ваша запись на пт, 12 дек в 14:30 изменена, время прежнее.
Теперь в записи: Маникюр, Педикюр и Брови.
Ждём вас!`},
		{"change, nothing optional", Change, Salon{}, bare(full), `Здравствуйте!
Ваша запись на пт, 12 дек в 14:30 изменена, время прежнее.
Ждём вас!`},
		{"cancellation, all fields", Cancellation, salon, full, `Анна, здравствуйте!
Ваша запись в салон «Бархат» на пт, 12 дек в 14:30 (Стрижка и Укладка, мастер Оксана) отменена.
Будем рады видеть вас снова — записаться можно по телефону +7 495 123-45-67.`},
		{"cancellation, nothing optional", Cancellation, Salon{}, bare(full), `Здравствуйте!
Ваша запись на пт, 12 дек в 14:30 отменена.
Будем рады видеть вас снова — записаться можно в любое удобное для вас время.`},
		{"cancellation, staff only", Cancellation, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Ваша запись на пт, 12 дек в 14:30 (мастер Оксана) отменена.
Будем рады видеть вас снова — записаться можно в любое удобное для вас время.`},
		{"day reminder, all fields", ReminderDay, salon, full, `Анна, здравствуйте!
Напоминаем: завтра, пт, 12 дек в 14:30 ждём вас в салоне «Бархат»: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"day reminder, nothing optional", ReminderDay, Salon{}, bare(full), `Здравствуйте!
Напоминаем: пт, 12 дек в 14:30 ждём вас.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"2h reminder, all fields, same day", Reminder2h, salon, withNow(full, time.Date(2025, 12, 12, 12, 30, 0, 0, salon.Location)), `Анна, здравствуйте!
Напоминаем: сегодня в 14:30 ждём вас в салоне «Бархат»: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"2h reminder, nothing optional", Reminder2h, Salon{}, bare(full), `Здравствуйте!
Напоминаем: пт, 12 дек в 14:30 ждём вас.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"opt-out ack, all fields", OptOutAck, salon, full, `Хорошо, больше не будем присылать вам сообщения от салона «Бархат».`},
		{"opt-out ack, nothing", OptOutAck, Salon{}, Visit{}, `Хорошо, больше не будем присылать вам сообщения.`},
		{"welcome, all fields", ClientWelcome, salon, full, `Анна, здравствуйте!
Спасибо, что выбрали салон «Бархат»! В этом чате будем присылать подтверждения записей и напоминания о визитах.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"welcome, nothing", ClientWelcome, Salon{}, Visit{}, `Здравствуйте!
Спасибо, что выбрали нас! В этом чате будем присылать подтверждения записей и напоминания о визитах.
Чтобы не получать сообщения, ответьте «стоп».`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, c.salon, c.visit, nil)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "got:\n%s\nwant:\n%s", got, c.want)
			requireTidy(t, got)
		})
	}
}

func withNow(v Visit, now time.Time) Visit {
	v.Now = now
	return v
}

func TestRenderReminderDays(t *testing.T) {
	salon, full := fixture(t)
	msk := salon.Location
	vlad := mustLoad(t, "Asia/Vladivostok")
	start := full.Start
	cases := []struct {
		name  string
		kind  Kind
		loc   *time.Location
		start time.Time
		now   time.Time
		want  string // the reminder line
	}{
		{"day before", ReminderDay, msk, start, time.Date(2025, 12, 11, 10, 0, 0, 0, msk), "Напоминаем: завтра, пт, 12 дек в 14:30 ждём вас."},
		{"day before, late evening", ReminderDay, msk, start, time.Date(2025, 12, 11, 23, 59, 0, 0, msk), "Напоминаем: завтра, пт, 12 дек в 14:30 ждём вас."},
		{"two days before", ReminderDay, msk, start, time.Date(2025, 12, 10, 18, 0, 0, 0, msk), "Напоминаем: пт, 12 дек в 14:30 ждём вас."},
		{"no clock", ReminderDay, msk, start, time.Time{}, "Напоминаем: пт, 12 дек в 14:30 ждём вас."},
		{"sent late, same day", ReminderDay, msk, start, time.Date(2025, 12, 12, 8, 0, 0, 0, msk), "Напоминаем: сегодня в 14:30 ждём вас."},
		// 13:00 UTC on the 11th is already 23:00 in Vladivostok: the visit at 09:00 on the
		// 12th there is tomorrow; a UTC server clock would also say so, but for 16:00 UTC
		// (02:00 on the 12th there) it is today.
		{"salon zone: tomorrow", ReminderDay, vlad, time.Date(2025, 12, 12, 9, 0, 0, 0, vlad), time.Date(2025, 12, 11, 13, 0, 0, 0, time.UTC), "Напоминаем: завтра, пт, 12 дек в 09:00 ждём вас."},
		{"salon zone: today, though the server's date is the day before", Reminder2h, vlad, time.Date(2025, 12, 12, 9, 0, 0, 0, vlad), time.Date(2025, 12, 11, 21, 0, 0, 0, time.UTC), "Напоминаем: сегодня в 09:00 ждём вас."},
		{"2h, same day", Reminder2h, msk, start, time.Date(2025, 12, 12, 12, 30, 0, 0, msk), "Напоминаем: сегодня в 14:30 ждём вас."},
		{"2h, across midnight", Reminder2h, msk, time.Date(2025, 12, 13, 0, 30, 0, 0, msk), time.Date(2025, 12, 12, 22, 30, 0, 0, msk), "Напоминаем: завтра в 00:30 ждём вас."},
		{"2h, no clock", Reminder2h, msk, start, time.Time{}, "Напоминаем: пт, 12 дек в 14:30 ждём вас."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, Salon{Location: c.loc}, Visit{Start: c.start, Now: c.now}, nil)
			require.NoError(t, err)
			require.Equal(t, c.want, strings.Split(got, "\n")[1], "got:\n%s", got)
		})
	}
	t.Run("only reminders say завтра", func(t *testing.T) {
		for _, k := range allKinds {
			got, err := Render(k, salon, full, nil)
			require.NoError(t, err)
			isReminder := k == ReminderDay || k == Reminder2h // the fixture's clock is the day before
			require.Equal(t, isReminder, strings.Contains(got, "завтра"), "%s:\n%s", k, got)
		}
	})
}

func TestRenderChangeTime(t *testing.T) {
	salon, full := fixture(t)
	vlad := mustLoad(t, "Asia/Vladivostok")
	t.Run("same instant in another zone is no change", func(t *testing.T) {
		v := full
		v.PreviousStart = full.Start.In(vlad)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "изменена, время прежнее")
		require.NotContains(t, got, "перенесена")
	})
	t.Run("seconds apart is no change", func(t *testing.T) {
		v := full
		v.PreviousStart = full.Start.Add(20 * time.Second)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.NotContains(t, got, "перенесена")
	})
	t.Run("same clock, other day", func(t *testing.T) {
		v := full
		v.PreviousStart = full.Start.AddDate(0, 0, -7)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "перенесена с пт, 5 дек в 14:30 на пт, 12 дек в 14:30")
	})
	t.Run("times are shown in the salon zone", func(t *testing.T) {
		v := full
		v.Start = full.Start.UTC()
		v.PreviousStart = full.PreviousStart.In(vlad)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "перенесена с вт, 9 дек в 12:00 на пт, 12 дек в 14:30")
	})
}

func TestRenderErrors(t *testing.T) {
	salon, full := fixture(t)
	t.Run("unknown kind", func(t *testing.T) {
		got, err := Render("birthday", salon, full, nil)
		require.ErrorIs(t, err, ErrUnknownKind)
		require.Empty(t, got)
	})
	for _, k := range []Kind{Confirmation, Change, Cancellation, ReminderDay, Reminder2h} {
		t.Run(string(k)+" needs a time", func(t *testing.T) {
			v := full
			v.Start = time.Time{}
			got, err := Render(k, salon, v, Overrides{k: "{{.When}}"})
			require.ErrorIs(t, err, ErrNoVisitTime)
			require.NotErrorIs(t, err, ErrBadOverride)
			require.Empty(t, got)
		})
	}
	for _, k := range []Kind{OptOutAck, ClientWelcome} {
		t.Run(string(k)+" needs no time", func(t *testing.T) {
			got, err := Render(k, salon, Visit{}, nil)
			require.NoError(t, err)
			require.NotEmpty(t, got)
		})
	}
}

// TestRenderEveryCombination renders every kind with every optional field present or missing
// (missing as "" and as junk that must count as missing) and checks the text reads cleanly and
// says what applies.
func TestRenderEveryCombination(t *testing.T) {
	salon, full := fixture(t)
	serviceSets := [][]string{nil, {"Стрижка"}, {"Стрижка", "Укладка"}, {"Маникюр", "Педикюр", "Брови", "Ресницы"}}
	missingAs := map[string]string{"empty": "", "junk": " \n-\t "}
	count := 0
	for missingName, missing := range missingAs {
		for mask := range 1 << 7 {
			has := func(bit int) bool { return mask&(1<<bit) != 0 }
			pick := func(bit int, value string) string {
				if has(bit) {
					return value
				}
				return missing
			}
			for si, services := range serviceSets {
				s := Salon{Location: salon.Location, Name: pick(0, salon.Name), Address: pick(1, salon.Address), Phone: pick(2, salon.Phone)}
				if !has(0) && missingName == "junk" {
					s.Name = "«»"
				}
				v := Visit{Start: full.Start, ClientName: pick(3, full.ClientName), StaffName: pick(4, full.StaffName), Services: services}
				if missingName == "junk" && len(services) > 0 {
					v.Services = append([]string{missing}, services...)
				}
				if has(5) {
					v.PreviousStart = full.PreviousStart
				}
				if has(6) {
					v.Now = full.Now
				}
				for _, k := range allKinds {
					name := fmt.Sprintf("%s/%s/mask=%07b/services=%d", k, missingName, mask, si)
					got, err := Render(k, s, v, nil)
					require.NoError(t, err, name)
					requireTidyf(t, got, name)
					requireSays(t, k, s, v, got, name)
					count++
				}
			}
		}
	}
	require.Equal(t, 2*128*4*len(allKinds), count)
}

// requireSays checks that a message says what applies to its kind, and nothing invented.
func requireSays(t *testing.T, k Kind, s Salon, v Visit, got, name string) {
	t.Helper()
	visitKind := k != OptOutAck && k != ClientWelcome
	msg := name + ":\n" + got
	if k != OptOutAck {
		if clean(v.ClientName) != "" {
			require.True(t, strings.HasPrefix(got, "Анна, здравствуйте!\n"), msg)
		} else {
			require.True(t, strings.HasPrefix(got, "Здравствуйте!\n"), msg)
		}
	}
	require.Equal(t, salonName(s.Name) != "", strings.Contains(got, "«Бархат»"), msg)
	if k == Reminder2h && !v.Now.IsZero() {
		require.Contains(t, got, "Напоминаем: завтра в 14:30 ждём вас", msg)
	} else if visitKind {
		require.Contains(t, got, "пт, 12 дек в 14:30", msg)
	}
	if visitKind {
		require.Equal(t, clean(v.StaffName) != "", strings.Contains(got, "мастер Оксана"), msg)
		require.Equal(t, len(v.Services) > 0, strings.Contains(got, "Стрижка") || strings.Contains(got, "Маникюр"), msg)
		if len(v.Services) == 4 {
			require.Contains(t, got, "Маникюр, Педикюр, Брови и Ресницы", msg)
		}
	} else {
		require.NotContains(t, got, "мастер", msg)
	}
	wantsAddress := k != OptOutAck && k != Cancellation && clean(s.Address) != ""
	require.Equal(t, wantsAddress, strings.Contains(got, "Адрес: ул. Тверская, 12"), msg)
	require.Equal(t, k != OptOutAck && clean(s.Phone) != "", strings.Contains(got, "+7 495 123-45-67"), msg)
	wantsStop := k == Confirmation || k == ReminderDay || k == Reminder2h || k == ClientWelcome
	require.Equal(t, wantsStop, strings.HasSuffix(got, "\n"+unsubscribeLine), msg)
	if k == Change {
		require.Equal(t, !v.PreviousStart.IsZero(), strings.Contains(got, "перенесена с вт, 9 дек в 12:00 на пт, 12 дек в 14:30"), msg)
		require.Equal(t, v.PreviousStart.IsZero(), strings.Contains(got, "время прежнее"), msg)
	} else {
		require.NotContains(t, got, "9 дек", msg)
	}
	require.Equal(t, (k == ReminderDay || k == Reminder2h) && !v.Now.IsZero(), strings.Contains(got, "завтра"), msg)
	require.LessOrEqual(t, utf8.RuneCountInString(got), 400, msg)
}

func TestRenderLongInputsStayShort(t *testing.T) {
	long := strings.Repeat("Очень длинное название ", 40)
	var services []string
	for range 50 {
		services = append(services, long)
	}
	_, full := fixture(t)
	s := Salon{Name: long, Address: long, Phone: long}
	v := Visit{ClientName: long, Start: full.Start, Services: services, StaffName: long, PreviousStart: full.PreviousStart, Now: full.Now}
	for _, k := range allKinds {
		got, err := Render(k, s, v, nil)
		require.NoError(t, err)
		requireTidyf(t, got, string(k))
		require.Less(t, utf8.RuneCountInString(got), 900, "%s is %d runes:\n%s", k, utf8.RuneCountInString(got), got)
	}
}

func requireTidy(t *testing.T, s string) {
	t.Helper()
	requireTidyf(t, s, "")
}

// requireTidyf fails on the marks of a text glued from missing fields.
func requireTidyf(t *testing.T, s, name string) {
	t.Helper()
	msg := fmt.Sprintf("%s:\n%s", name, s)
	require.NotEmpty(t, s, msg)
	require.Equal(t, strings.TrimSpace(s), s, "leading or trailing whitespace: "+msg)
	for _, bad := range []string{
		"  ", "\t", "\n\n", "«»", "« ", " »", " ,", " .", " :", " !", " )", "( ", "()",
		",.", ".,", "..", ",,", ":.", ": .", ", .", ",:", "::",
		"мастер .", "мастер,", "мастер\n", "мастер )", "мастер)",
		"на .", "на\n", "с на", "салоне .", "салон .", "салон «»",
		"<no value>", "%!", "….",
	} {
		require.NotContains(t, s, bad, "found %q in %s", bad, msg)
	}
	require.False(t, strings.HasPrefix(s, ", "), msg)
	require.False(t, strings.HasSuffix(s, "мастер"), msg)
	for _, line := range strings.Split(s, "\n") {
		require.Equal(t, strings.TrimSpace(line), line, "line %q in %s", line, msg)
		require.NotEmpty(t, line, msg)
		require.False(t, strings.HasSuffix(line, ":") || strings.HasSuffix(line, ",") || strings.HasSuffix(line, "—"), "dangling punctuation in %q: %s", line, msg)
	}
	require.LessOrEqual(t, countEmoji(s), 1, msg)
	require.LessOrEqual(t, utf8.RuneCountInString(s), MaxMessageLen, msg)
}

func countEmoji(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1F300 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF {
			n++
		}
	}
	return n
}

// errorsIsBad is a readability helper for the override tests.
func errorsIsBad(err error) bool { return errors.Is(err, ErrBadOverride) }

func TestSalonNameWithInnerQuotes(t *testing.T) {
	got, err := Render(Confirmation, Salon{Name: `Салон красоты "Бархат"`}, Visit{Start: time.Date(2026, 12, 12, 11, 30, 0, 0, time.UTC)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "в салон «Салон красоты „Бархат“»") {
		t.Fatalf("got %q, want inner „…“ quotes", got)
	}
}
