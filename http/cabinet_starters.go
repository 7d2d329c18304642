package httpapi

import "github.com/aiadmin/aiadmin/activities/texts"

// greeting opens the starters as the standard texts open: with the client's name when there
// is one.
const greeting = "{{if .ClientName}}{{.ClientName}}, здравствуйте!{{else}}Здравствуйте!{{end}}\n"

// unsubscribe ends the texts the client did not ask for, as the standard ones end.
const unsubscribe = "\nЧтобы не получать сообщения, ответьте «стоп»."

// starters are the standard texts written as templates, for the owner to start editing from:
// for a visit with every detail they read as the standard text does (a test holds them to
// it). The standard texts also leave out what a visit lacks (no address line without an
// address); a template says what it says.
var starters = map[texts.Kind]string{
	texts.Confirmation: greeting +
		"Вы записаны в салон «{{.SalonName}}» {{.When}}: {{.Services}}, мастер {{.Staff}}.\n" +
		"Адрес: {{.Address}}\nТелефон: {{.Phone}}\nЖдём вас!" + unsubscribe,
	texts.Change: greeting +
		"Ваша запись в салон «{{.SalonName}}» перенесена {{.When}}: {{.Services}}, мастер {{.Staff}}.\n" +
		"Раньше она была {{.PrevWhen}}.\nАдрес: {{.Address}}\nТелефон: {{.Phone}}\nЖдём вас!",
	texts.Cancellation: greeting +
		"Ваша запись в салон «{{.SalonName}}» {{.When}} ({{.Services}}, мастер {{.Staff}}) отменена.\n" +
		"Будем рады видеть вас снова — записаться можно по телефону {{.Phone}}.",
	texts.ReminderDay: greeting +
		"Напоминаем: {{if .Day}}{{.Day}}, {{end}}{{.When}} ждём вас в салоне «{{.SalonName}}»: {{.Services}}, мастер {{.Staff}}.\n" +
		"Адрес: {{.Address}}\nЕсли планы изменились, позвоните: {{.Phone}}" + unsubscribe,
	texts.Reminder2h: greeting +
		"Напоминаем: {{if .Day}}{{.Day}} в {{.Time}}{{else}}{{.When}}{{end}} ждём вас в салоне «{{.SalonName}}»: {{.Services}}, мастер {{.Staff}}.\n" +
		"Адрес: {{.Address}}\nЕсли планы изменились, позвоните: {{.Phone}}" + unsubscribe,
	texts.ClientWelcome: greeting +
		"Спасибо, что выбрали салон «{{.SalonName}}»! В этом чате будем присылать подтверждения записей и напоминания о визитах.\n" +
		"Адрес: {{.Address}}\nТелефон: {{.Phone}}" + unsubscribe,
	texts.ConfirmThanks: "{{if .ClientName}}{{.ClientName}}, спасибо{{else}}Спасибо{{end}}, что подтвердили! " +
		"Ждём вас {{if .Day}}{{.Day}} в {{.Time}}{{else}}{{.When}}{{end}}.",
	texts.DeclineAck: "{{if .ClientName}}{{.ClientName}}, спасибо{{else}}Спасибо{{end}}, передали администратору — с вами свяжутся.\n" +
		"Если удобнее, позвоните: {{.Phone}}",
	texts.ReviewRequest: greeting +
		"Как вам визит в салон «{{.SalonName}}»? Оцените его от 1 до 5 — просто ответьте цифрой." + unsubscribe,
	texts.ReviewThanks: "{{if .ClientName}}{{.ClientName}}, спасибо{{else}}Спасибо{{end}} за высокую оценку! Рады, что вам понравилось.\n" +
		"{{if .ReviewURL}}Если найдёте минуту, оставьте, пожалуйста, отзыв: {{.ReviewURL}}\n{{end}}Ждём вас снова!",
	texts.ReviewSorry: "{{if .ClientName}}{{.ClientName}}, спасибо{{else}}Спасибо{{end}} за честную оценку. " +
		"Жаль, что не всё прошло хорошо. Мы передали вашу оценку руководителю салона и обязательно разберёмся.\n" +
		"Если захотите рассказать подробнее, позвоните: {{.Phone}}",
}
