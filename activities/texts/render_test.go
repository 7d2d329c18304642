package texts

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// visitKinds need Visit.Start; clientKinds are every kind a client receives.
var (
	visitKinds  = []Kind{Confirmation, Change, Cancellation, ReminderDay, Reminder2h}
	clientKinds = append(slices.Clone(visitKinds), OptOutAck, StartAck, ClientWelcome, ConfirmThanks, DeclineAck, ReviewRequest, ReviewThanks, ReviewSorry)
)

// fixture: a visit on Friday 12 Dec 14:30 Moscow, moved from Tuesday 9 Dec 12:00, reminded on
// Thursday 11 Dec.
func fixture(t *testing.T) (Salon, Visit) {
	t.Helper()
	msk := mustLoad(t, "Europe/Moscow")
	return Salon{
			Name:      "Бархат",
			Address:   "ул. Тверская, 12",
			Phone:     "+7 495 123-45-67",
			ReviewURL: "https://yandex.ru/maps/org/1234/reviews",
			Location:  msk,
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
Вы записаны в салон «Бархат» в пятницу, 12 декабря, в 14:30: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, nothing optional", Confirmation, Salon{}, bare(full), `Здравствуйте!
Вы записаны в пятницу, 12 декабря, в 14:30.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, staff only", Confirmation, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Вы записаны в пятницу, 12 декабря, в 14:30. Вас примет мастер Оксана.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirmation, one service", Confirmation, Salon{}, Visit{Start: full.Start, Services: []string{"Маникюр"}}, `Здравствуйте!
Вы записаны в пятницу, 12 декабря, в 14:30: Маникюр.
Ждём вас!
Чтобы не получать сообщения, ответьте «стоп».`},
		{"change of time, all fields", Change, salon, full, `Анна, здравствуйте!
Ваша запись в салон «Бархат» перенесена на пятницу, 12 декабря, на 14:30: Стрижка и Укладка, мастер Оксана.
Раньше она была во вторник, 9 декабря, в 12:00.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Ждём вас!`},
		{"change of time, same day", Change, Salon{}, Visit{Start: full.Start, PreviousStart: full.Start.Add(-2 * time.Hour)}, `Здравствуйте!
Ваша запись перенесена на пятницу, 12 декабря, на 14:30.
Раньше она была в 12:30.
Ждём вас!`},
		{"change of time, nothing optional", Change, Salon{}, Visit{Start: full.Start, PreviousStart: full.PreviousStart}, `Здравствуйте!
Ваша запись перенесена на пятницу, 12 декабря, на 14:30.
Раньше она была во вторник, 9 декабря, в 12:00.
Ждём вас!`},
		{"change of staff and services", Change, salon, Visit{ClientName: "Анна", Start: full.Start, Services: full.Services, StaffName: "Оксана"}, `Анна, здравствуйте!
Мы обновили вашу запись в салон «Бархат».
Теперь в записи: Стрижка и Укладка, мастер Оксана.
Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67`},
		{"change of staff only", Change, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Мы обновили вашу запись.
Теперь вас примет мастер Оксана.
Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30.`},
		{"change of services only", Change, Salon{}, Visit{Start: full.Start, Services: []string{"Маникюр", "Педикюр", "Брови"}}, `Здравствуйте!
Мы обновили вашу запись.
Теперь в записи: Маникюр, Педикюр и Брови.
Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30.`},
		{"change, nothing optional", Change, Salon{}, bare(full), `Здравствуйте!
Мы обновили вашу запись.
Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30.`},
		{"cancellation, all fields", Cancellation, salon, full, `Анна, здравствуйте!
Ваша запись в салон «Бархат» на пятницу, 12 декабря, на 14:30 (Стрижка и Укладка, мастер Оксана) отменена.
Будем рады видеть вас снова — записаться можно по телефону +7 495 123-45-67.`},
		{"cancellation, nothing optional", Cancellation, Salon{}, bare(full), `Здравствуйте!
Ваша запись на пятницу, 12 декабря, на 14:30 отменена.
Будем рады видеть вас снова — записаться можно в любое удобное для вас время.`},
		{"cancellation, staff only", Cancellation, Salon{}, Visit{Start: full.Start, StaffName: "Оксана"}, `Здравствуйте!
Ваша запись на пятницу, 12 декабря, на 14:30 (мастер Оксана) отменена.
Будем рады видеть вас снова — записаться можно в любое удобное для вас время.`},
		{"day reminder, all fields", ReminderDay, salon, full, `Анна, здравствуйте!
Напоминаем: завтра, в пятницу, 12 декабря, в 14:30 ждём вас в салоне «Бархат»: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Если планы изменились, позвоните: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"day reminder, nothing optional", ReminderDay, Salon{}, bare(full), `Здравствуйте!
Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"2h reminder, all fields, same day", Reminder2h, salon, withNow(full, time.Date(2025, 12, 12, 12, 30, 0, 0, salon.Location)), `Анна, здравствуйте!
Напоминаем: сегодня в 14:30 ждём вас в салоне «Бархат»: Стрижка и Укладка, мастер Оксана.
Адрес: ул. Тверская, 12
Если планы изменились, позвоните: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"2h reminder, nothing optional", Reminder2h, Salon{}, bare(full), `Здравствуйте!
Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"welcome, all fields", ClientWelcome, salon, full, `Анна, здравствуйте!
Спасибо, что выбрали салон «Бархат»! В этом чате будем присылать подтверждения записей и напоминания о визитах.
Адрес: ул. Тверская, 12
Телефон: +7 495 123-45-67
Чтобы не получать сообщения, ответьте «стоп».`},
		{"welcome, nothing", ClientWelcome, Salon{}, Visit{}, `Здравствуйте!
Спасибо, что выбрали нас! В этом чате будем присылать подтверждения записей и напоминания о визитах.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"owner welcome", Welcome, salon, Visit{}, `Здравствуйте! AI Admin подключён к салону «Бархат». С этого номера клиенты будут получать подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно.`},
		{"owner welcome, no name", Welcome, Salon{}, Visit{}, `Здравствуйте! AI Admin подключён. С этого номера клиенты салона будут получать подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно.`},
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

// TestRenderZones renders one booking for a salon in each demo zone: the client reads the time
// on the salon's clock, whatever zone the instant comes in.
func TestRenderZones(t *testing.T) {
	instant := time.Date(2025, 12, 12, 20, 30, 0, 0, time.UTC)
	cases := []struct{ zone, confirmation, cancellation string }{
		{"Europe/Moscow", "Вы записаны в пятницу, 12 декабря, в 23:30.", "Ваша запись на пятницу, 12 декабря, на 23:30 отменена."},
		{"Asia/Vladivostok", "Вы записаны в субботу, 13 декабря, в 06:30.", "Ваша запись на субботу, 13 декабря, на 06:30 отменена."},
		{"Europe/Kaliningrad", "Вы записаны в пятницу, 12 декабря, в 22:30.", "Ваша запись на пятницу, 12 декабря, на 22:30 отменена."},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			s := Salon{Location: mustLoad(t, c.zone)}
			got, err := Render(Confirmation, s, Visit{Start: instant}, nil)
			require.NoError(t, err)
			require.Equal(t, c.confirmation, strings.Split(got, "\n")[1])
			got, err = Render(Cancellation, s, Visit{Start: instant.In(mustLoad(t, "Asia/Vladivostok"))}, nil)
			require.NoError(t, err)
			require.Equal(t, c.cancellation, strings.Split(got, "\n")[1])
		})
	}
}

func TestRenderReminderDays(t *testing.T) {
	salon, full := fixture(t)
	msk := salon.Location
	vlad := mustLoad(t, "Asia/Vladivostok")
	kgd := mustLoad(t, "Europe/Kaliningrad")
	start := full.Start
	utc := func(d, h, m int) time.Time { return time.Date(2025, 12, d, h, m, 0, 0, time.UTC) }
	cases := []struct {
		name  string
		kind  Kind
		loc   *time.Location
		start time.Time
		now   time.Time
		want  string // the reminder line
	}{
		{"day before", ReminderDay, msk, start, time.Date(2025, 12, 11, 10, 0, 0, 0, msk), "Напоминаем: завтра, в пятницу, 12 декабря, в 14:30 ждём вас."},
		{"day before, late evening", ReminderDay, msk, start, time.Date(2025, 12, 11, 23, 59, 0, 0, msk), "Напоминаем: завтра, в пятницу, 12 декабря, в 14:30 ждём вас."},
		{"two days before", ReminderDay, msk, start, time.Date(2025, 12, 10, 18, 0, 0, 0, msk), "Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас."},
		{"no clock", ReminderDay, msk, start, time.Time{}, "Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас."},
		{"sent late, same day", ReminderDay, msk, start, time.Date(2025, 12, 12, 8, 0, 0, 0, msk), "Напоминаем: сегодня в 14:30 ждём вас."},
		{"after the visit day", ReminderDay, msk, start, time.Date(2025, 12, 13, 8, 0, 0, 0, msk), "Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас."},
		// 13:00 UTC on the 11th is already 23:00 in Vladivostok: the visit at 09:00 on the
		// 12th there is tomorrow; at 16:00 UTC (02:00 on the 12th there) it is today.
		{"Vladivostok: tomorrow", ReminderDay, vlad, time.Date(2025, 12, 12, 9, 0, 0, 0, vlad), utc(11, 13, 0), "Напоминаем: завтра, в пятницу, 12 декабря, в 09:00 ждём вас."},
		{"Vladivostok: today, though the server's date is the day before", Reminder2h, vlad, time.Date(2025, 12, 12, 9, 0, 0, 0, vlad), utc(11, 21, 0), "Напоминаем: сегодня в 09:00 ждём вас."},
		{"Vladivostok: two days ahead there, tomorrow in UTC", ReminderDay, vlad, time.Date(2025, 12, 13, 9, 0, 0, 0, vlad), utc(11, 1, 0), "Напоминаем: в субботу, 13 декабря, в 09:00 ждём вас."},
		// 21:30 UTC on the 11th: past midnight in Moscow, still the 11th in Kaliningrad.
		{"Kaliningrad: still tomorrow", ReminderDay, kgd, time.Date(2025, 12, 12, 9, 0, 0, 0, kgd), utc(11, 21, 30), "Напоминаем: завтра, в пятницу, 12 декабря, в 09:00 ждём вас."},
		{"Moscow at the same instant: today", ReminderDay, msk, time.Date(2025, 12, 12, 10, 0, 0, 0, msk), utc(11, 21, 30), "Напоминаем: сегодня в 10:00 ждём вас."},
		{"Kaliningrad 2h, across midnight", Reminder2h, kgd, time.Date(2025, 12, 13, 0, 30, 0, 0, kgd), time.Date(2025, 12, 12, 22, 30, 0, 0, kgd), "Напоминаем: завтра в 00:30 ждём вас."},
		{"2h, same day", Reminder2h, msk, start, time.Date(2025, 12, 12, 12, 30, 0, 0, msk), "Напоминаем: сегодня в 14:30 ждём вас."},
		{"2h, across midnight", Reminder2h, msk, time.Date(2025, 12, 13, 0, 30, 0, 0, msk), time.Date(2025, 12, 12, 22, 30, 0, 0, msk), "Напоминаем: завтра в 00:30 ждём вас."},
		{"2h, no clock", Reminder2h, msk, start, time.Time{}, "Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, Salon{Location: c.loc}, Visit{Start: c.start, Now: c.now}, nil)
			require.NoError(t, err)
			require.Equal(t, c.want, strings.Split(got, "\n")[1], "got:\n%s", got)
		})
	}
	t.Run("only reminders and the thanks for confirming say завтра", func(t *testing.T) {
		for _, k := range clientKinds {
			got, err := Render(k, salon, full, nil)
			require.NoError(t, err)
			says := k == ReminderDay || k == Reminder2h || k == ConfirmThanks // the fixture's clock is the day before
			require.Equal(t, says, strings.Contains(got, "завтра"), "%s:\n%s", k, got)
			require.NotContains(t, got, "сегодня", "%s:\n%s", k, got)
		}
	})
}

func TestRenderReminderPhone(t *testing.T) {
	salon, full := fixture(t)
	for _, k := range []Kind{ReminderDay, Reminder2h} {
		got, err := Render(k, salon, full, nil)
		require.NoError(t, err)
		require.Contains(t, got, "\nЕсли планы изменились, позвоните: +7 495 123-45-67\n")
		require.NotContains(t, got, "Телефон:", "the phone is said once")
		salon := salon
		salon.Phone = " - "
		got, err = Render(k, salon, full, nil)
		require.NoError(t, err)
		require.NotContains(t, got, "позвоните")
		require.NotContains(t, got, "Телефон")
	}
}

func TestRenderChangeTime(t *testing.T) {
	salon, full := fixture(t)
	vlad := mustLoad(t, "Asia/Vladivostok")
	t.Run("same instant in another zone is no change", func(t *testing.T) {
		v := full
		v.PreviousStart = full.Start.In(vlad)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30.")
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
		require.Contains(t, got, "перенесена на пятницу, 12 декабря, на 14:30: ")
		require.Contains(t, got, "\nРаньше она была в пятницу, 5 декабря, в 14:30.\n")
	})
	t.Run("times are shown in the salon zone", func(t *testing.T) {
		v := full
		v.Start = full.Start.UTC()
		v.PreviousStart = full.PreviousStart.In(vlad)
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "перенесена на пятницу, 12 декабря, на 14:30: ")
		require.Contains(t, got, "\nРаньше она была во вторник, 9 декабря, в 12:00.\n")
	})
	t.Run("the same day is the salon's day", func(t *testing.T) {
		// 23:30 and 00:30 Moscow: one UTC date (20:30 and 21:30 UTC), two days for the client.
		msk := salon.Location
		v := Visit{Start: time.Date(2025, 12, 13, 0, 30, 0, 0, msk), PreviousStart: time.Date(2025, 12, 12, 23, 30, 0, 0, msk)}
		got, err := Render(Change, salon, v, nil)
		require.NoError(t, err)
		require.Contains(t, got, "\nРаньше она была в пятницу, 12 декабря, в 23:30.\n")
	})
}

func TestRenderErrors(t *testing.T) {
	salon, full := fixture(t)
	t.Run("unknown kind", func(t *testing.T) {
		got, err := Render("birthday", salon, full, nil)
		require.ErrorIs(t, err, ErrUnknownKind)
		require.Empty(t, got)
	})
	for _, k := range visitKinds {
		t.Run(string(k)+" needs a time", func(t *testing.T) {
			v := full
			v.Start = time.Time{}
			got, err := Render(k, salon, v, Overrides{k: "{{.When}}"})
			require.ErrorIs(t, err, ErrNoVisitTime)
			require.NotErrorIs(t, err, ErrBadOverride)
			require.Empty(t, got)
		})
	}
	for _, k := range append(clientKinds[len(visitKinds):], Welcome) {
		t.Run(string(k)+" needs no time", func(t *testing.T) {
			got, err := Render(k, salon, Visit{}, nil)
			require.NoError(t, err)
			requireTidyf(t, got, string(k))
			require.NotContains(t, got, "декабря")
		})
	}
}
