package texts

import (
	"slices"
	"time"
)

// What the settings cabinet's text editor needs: which kinds an owner may edit, the fields
// each may use, and a sample visit to preview with (Render(kind, salon, visit, draft)).

// KindInfo describes a kind an owner may edit.
type KindInfo struct {
	Kind  Kind
	Title string // «Подтверждение записи»
	Sent  string // when the message goes out, one Russian sentence
	// ConfirmLine: when the salon asks clients to confirm, Render adds ConfirmLine after the
	// owner's text of this kind; the owner need not (and cannot forget to) write it.
	ConfirmLine bool
}

// editable lists the kinds an owner may edit, in the order the editor shows them. The «стоп»
// and «старт» acknowledgements and the owner's own welcome are not editable: they must say
// what they say.
var editable = []KindInfo{
	{Confirmation, "Подтверждение записи", "Сразу после того, как клиент записался.", true},
	{Change, "Изменение записи", "Когда в записи меняются время, мастер или услуги.", false},
	{Cancellation, "Отмена записи", "Когда запись отменена.", false},
	{ReminderDay, "Напоминание за день", "Накануне визита.", true},
	{Reminder2h, "Напоминание за 2 часа", "Примерно за 2 часа до визита.", false},
	{ClientWelcome, "Приветствие нового клиента", "Один раз, когда клиент впервые появляется в базе салона.", false},
	{ConfirmThanks, "Ответ на подтверждение визита", "Когда клиент подтвердил визит: ответил «1» или «да».", false},
	{DeclineAck, "Ответ, если клиент не сможет прийти", "Когда клиент ответил «2» или «не смогу».", false},
	{ReviewRequest, "Просьба оценить визит", "После визита: клиента просят оценить его от 1 до 5.", false},
	{ReviewThanks, "Благодарность за высокую оценку", "Когда клиент поставил 4 или 5; со ссылкой на отзывы, если она указана.", false},
	{ReviewSorry, "Ответ на низкую оценку", "Когда клиент поставил от 1 до 3; без ссылки на отзывы, а вам придёт уведомление.", false},
}

// Kinds lists the kinds an owner may edit, with Russian titles, in display order.
func Kinds() []KindInfo { return slices.Clone(editable) }

// Editable reports whether an owner may override the kind's text (Kinds lists it).
func Editable(k Kind) bool {
	return slices.ContainsFunc(editable, func(i KindInfo) bool { return i.Kind == k })
}

// Placeholder is one field an owner may use in a template.
type Placeholder struct {
	Name        string // as written in a template: «{{.ClientName}}»
	Description string // in Russian, with an example
}

// fieldDescriptions describes every field of Data for the owner.
var fieldDescriptions = map[string]string{
	"ClientName": "Имя клиента, например «Анна». Бывает пустым.",
	"When":       "Дата и время визита: «в пятницу, 12 декабря, в 14:30».",
	"PrevWhen":   "Прежние дата и время, если визит перенесли: «во вторник, 9 декабря, в 12:00». Пусто, если время не менялось.",
	"Date":       "День визита: «пятница, 12 декабря».",
	"Time":       "Время визита: «14:30».",
	"Services":   "Услуги: «Стрижка и Укладка». Бывает пустым.",
	"Staff":      "Имя мастера без слова «мастер»: «Оксана». Бывает пустым.",
	"SalonName":  "Название салона без кавычек: «Бархат».",
	"Address":    "Адрес салона: «ул. Тверская, 12». Бывает пустым.",
	"Phone":      "Телефон салона: «+7 495 123-45-67». Бывает пустым.",
	"Day":        "«завтра» или «сегодня», если визит завтра или сегодня по времени салона; иначе пусто.",
	"ReviewURL":  "Ссылка на отзывы о салоне из настроек. Бывает пустой.",
}

var (
	visitFields = []string{"ClientName", "When", "Date", "Time", "Services", "Staff", "SalonName", "Address", "Phone"}
	kindFields  = map[Kind][]string{
		Confirmation:  visitFields,
		Change:        append(slices.Clone(visitFields), "PrevWhen"),
		Cancellation:  visitFields,
		ReminderDay:   append(slices.Clone(visitFields), "Day"),
		Reminder2h:    append(slices.Clone(visitFields), "Day"),
		ClientWelcome: {"ClientName", "SalonName", "Address", "Phone"},
		ConfirmThanks: {"ClientName", "When", "Date", "Time", "Day", "SalonName", "Address"},
		DeclineAck:    {"ClientName", "SalonName", "Phone"},
		ReviewRequest: {"ClientName", "SalonName", "Services", "Staff", "Date"},
		ReviewThanks:  {"ClientName", "SalonName", "ReviewURL"},
		ReviewSorry:   {"ClientName", "SalonName", "Phone"},
	}
)

// Placeholders lists the fields that make sense in the kind's text, with Russian
// descriptions; nil for a kind the owner cannot edit. A template may use any field of Data
// (ValidateTemplate accepts them all); the others are simply empty or beside the point.
func Placeholders(k Kind) []Placeholder {
	fields := kindFields[k]
	if !Editable(k) || len(fields) == 0 {
		return nil
	}
	out := make([]Placeholder, 0, len(fields))
	for _, f := range fields {
		out = append(out, Placeholder{Name: "{{." + f + "}}", Description: fieldDescriptions[f]})
	}
	return out
}

// Sample returns a salon and a visit to preview texts with: «Бархат» in Moscow, Анна's
// haircut tomorrow at 14:30 (so reminders say «завтра»), moved from 12:00 the same day, sent at
// now. Replace what the cabinet knows (the salon's name, zone, phone, review link) before
// rendering.
func Sample(now time.Time) (Salon, Visit) {
	loc := moscow()
	d := now.In(loc)
	start := time.Date(d.Year(), d.Month(), d.Day()+1, 14, 30, 0, 0, loc)
	return Salon{
			Name:      "Бархат",
			Address:   "ул. Тверская, 12",
			Phone:     "+7 495 123-45-67",
			ReviewURL: "https://example.com/otzyvy",
			Location:  loc,
		}, Visit{
			ClientName:    "Анна",
			Start:         start,
			Services:      []string{"Стрижка", "Укладка"},
			StaffName:     "Оксана",
			PreviousStart: start.Add(-150 * time.Minute),
			Now:           now,
		}
}
