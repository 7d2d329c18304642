package texts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderReplies(t *testing.T) {
	salon, full := fixture(t)
	noPhone := salon
	noPhone.Phone, noPhone.ReviewURL = "", " "
	cases := []struct {
		name  string
		kind  Kind
		salon Salon
		visit Visit
		want  string
	}{
		{"opt-out ack", OptOutAck, salon, full, `Хорошо, больше не будем присылать вам сообщения от салона «Бархат».
Чтобы снова получать сообщения, напишите «старт».`},
		{"opt-out ack, nothing", OptOutAck, Salon{}, Visit{}, `Хорошо, больше не будем присылать вам сообщения.
Чтобы снова получать сообщения, напишите «старт».`},
		{"start ack", StartAck, salon, Visit{}, `Хорошо, снова будем присылать вам подтверждения записей и напоминания от салона «Бархат».
Чтобы не получать сообщения, ответьте «стоп».`},
		{"start ack, nothing", StartAck, Salon{}, Visit{}, `Хорошо, снова будем присылать вам подтверждения записей и напоминания.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"confirm thanks, the day before", ConfirmThanks, salon, full, `Анна, спасибо, что подтвердили! Ждём вас завтра в 14:30.`},
		{"confirm thanks, no clock", ConfirmThanks, salon, Visit{ClientName: "Анна", Start: full.Start}, `Анна, спасибо, что подтвердили! Ждём вас в пятницу, 12 декабря, в 14:30.`},
		{"confirm thanks, nothing", ConfirmThanks, Salon{}, Visit{}, `Спасибо, что подтвердили! Ждём вас!`},
		{"decline ack", DeclineAck, salon, full, `Анна, спасибо, передали администратору — с вами свяжутся.
Если удобнее, позвоните: +7 495 123-45-67`},
		{"decline ack, no phone", DeclineAck, noPhone, Visit{}, `Спасибо, передали администратору — с вами свяжутся.`},
		{"review request", ReviewRequest, salon, full, `Анна, здравствуйте!
Как вам визит в салон «Бархат»? Оцените его от 1 до 5 — просто ответьте цифрой.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"review request, nothing", ReviewRequest, Salon{}, Visit{}, `Здравствуйте!
Как вам визит к нам? Оцените его от 1 до 5 — просто ответьте цифрой.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"review request, a name with its own quotes", ReviewRequest, Salon{Name: `Салон красоты "Бархат"`}, Visit{}, `Здравствуйте!
Как вам визит в салон красоты «Бархат»? Оцените его от 1 до 5 — просто ответьте цифрой.
Чтобы не получать сообщения, ответьте «стоп».`},
		{"review thanks with the link", ReviewThanks, salon, full, `Анна, спасибо за высокую оценку! Рады, что вам понравилось.
Если найдёте минуту, оставьте, пожалуйста, отзыв: https://yandex.ru/maps/org/1234/reviews
Ждём вас снова!`},
		{"review thanks, no link", ReviewThanks, noPhone, Visit{}, `Спасибо за высокую оценку! Рады, что вам понравилось.
Ждём вас снова!`},
		{"review sorry", ReviewSorry, salon, full, `Анна, спасибо за честную оценку. Жаль, что не всё прошло хорошо. Мы передали вашу оценку руководителю салона и обязательно разберёмся.
Если захотите рассказать подробнее, позвоните: +7 495 123-45-67`},
		{"review sorry, no phone", ReviewSorry, noPhone, Visit{}, `Спасибо за честную оценку. Жаль, что не всё прошло хорошо. Мы передали вашу оценку руководителю салона и обязательно разберёмся.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, c.salon, c.visit, nil)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "got:\n%s\nwant:\n%s", got, c.want)
			requireTidy(t, got)
		})
	}
	t.Run("review sorry never carries the public link", func(t *testing.T) {
		got, err := Render(ReviewSorry, salon, full, nil)
		require.NoError(t, err)
		require.NotContains(t, got, "http")
	})
}

func TestReviewURL(t *testing.T) {
	for in, want := range map[string]string{
		" https://yandex.ru/maps/org/1234/reviews ": "https://yandex.ru/maps/org/1234/reviews",
		"https://2gis.ru/x.":                        "https://2gis.ru/x",
		"yandex.ru/maps":                            "yandex.ru/maps",
		"":                                          "",
		"-":                                         "",
		"нет ссылки":                                "",
		"https://" + strings.Repeat("a", 300) + ".ru": "",
	} {
		require.Equal(t, want, cleanURL(in), "cleanURL(%q)", in)
	}
}

func TestOwnerLowScore(t *testing.T) {
	salon, full := fixture(t)
	got := OwnerLowScore(salon, full, 2, "+7 916 123-45-67")
	require.Equal(t, `Низкая оценка визита в салон «Бархат»: 2 из 5.
Клиент: Анна, +7 916 123-45-67
Визит: пятница, 12 декабря, 14:30 — Стрижка и Укладка
Мастер: Оксана
Публичную ссылку на отзывы клиент не получил. Стоит связаться с ним, пока впечатления свежие.`, got)
	requireTidy(t, got)

	got = OwnerLowScore(Salon{}, Visit{}, 3, "")
	require.Equal(t, `Низкая оценка визита: 3 из 5.
Публичную ссылку на отзывы клиент не получил. Стоит связаться с ним, пока впечатления свежие.`, got)

	vlad := mustLoad(t, "Asia/Vladivostok")
	got = OwnerLowScore(Salon{Location: vlad}, Visit{Start: full.Start, StaffName: "оксана"}, 1, "79161234567")
	require.Contains(t, got, "\nКлиент: 79161234567\nВизит: пятница, 12 декабря, 21:30\nМастер: Оксана\n", "the visit in the salon's zone")
	requireTidy(t, got)
}

func TestConfirmLine(t *testing.T) {
	salon, full := fixture(t)
	ask := full
	ask.AskConfirm = true
	t.Run("defaults", func(t *testing.T) {
		for _, k := range clientKinds {
			got, err := Render(k, salon, ask, nil)
			require.NoError(t, err)
			asked := k == Confirmation || k == ReminderDay
			require.Equal(t, asked, strings.Contains(got, ConfirmLine), "%s:\n%s", k, got)
			if asked {
				require.True(t, strings.HasSuffix(got, "\n"+ConfirmLine+"\n"+unsubscribeLine), got)
			}
			plain, err := Render(k, salon, full, nil)
			require.NoError(t, err)
			require.NotContains(t, plain, ConfirmLine, "not asked, not said")
		}
	})
	cases := []struct {
		name     string
		kind     Kind
		visit    Visit
		override string
		want     string
	}{
		{"after the owner's text", Confirmation, ask, "{{.ClientName}}, ждём вас {{.When}}.", "Анна, ждём вас в пятницу, 12 декабря, в 14:30.\n" + ConfirmLine},
		{"day reminder too", ReminderDay, ask, "Ждём вас {{.Day}} в {{.Time}}.\n\n", "Ждём вас завтра в 14:30.\n" + ConfirmLine},
		{"not doubled when the owner wrote it", ReminderDay, ask, "Ждём вас {{.When}}.\n" + ConfirmLine, "Ждём вас в пятницу, 12 декабря, в 14:30.\n" + ConfirmLine},
		{"not for the 2h reminder", Reminder2h, ask, "Ждём вас {{.When}}.", "Ждём вас в пятницу, 12 декабря, в 14:30."},
		{"not when not asked", Confirmation, full, "Ждём вас {{.When}}.", "Ждём вас в пятницу, 12 декабря, в 14:30."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, salon, c.visit, Overrides{c.kind: c.override})
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
	t.Run("a bad override falls back to the default, with the line", func(t *testing.T) {
		got, err := Render(Confirmation, salon, ask, Overrides{Confirmation: "{{.Nope}}"})
		require.ErrorIs(t, err, ErrBadOverride)
		require.Contains(t, got, "\n"+ConfirmLine+"\n")
	})
	t.Run("too long with the line", func(t *testing.T) {
		tmpl := strings.Repeat("а", MaxMessageLen-10)
		got, err := Render(Confirmation, salon, full, Overrides{Confirmation: tmpl})
		require.NoError(t, err, "fits without the line")
		require.Equal(t, tmpl, got)
		got, err = Render(Confirmation, salon, ask, Overrides{Confirmation: tmpl})
		require.ErrorIs(t, err, ErrBadOverride)
		require.Contains(t, err.Error(), "вместе со строкой подтверждения")
		def, _ := Render(Confirmation, salon, ask, nil)
		require.Equal(t, def, got)
	})
}

func TestOverridesOnlyForEditableKinds(t *testing.T) {
	salon, _ := fixture(t)
	for _, k := range []Kind{OptOutAck, StartAck, Welcome} {
		def, err := Render(k, salon, Visit{}, nil)
		require.NoError(t, err)
		got, err := Render(k, salon, Visit{}, Overrides{k: "Что-то своё"})
		require.NoError(t, err)
		require.Equal(t, def, got, "%s says what it must say", k)
	}
	got, err := Render(ReviewThanks, salon, Visit{}, Overrides{ReviewThanks: "Спасибо! {{.ReviewURL}}"})
	require.NoError(t, err)
	require.Equal(t, "Спасибо! https://yandex.ru/maps/org/1234/reviews", got)
}
