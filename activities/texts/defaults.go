package texts

import (
	"strings"
	"time"
)

// unsubscribeLine ends every message the client did not ask for, so opting out is always one
// word away.
const unsubscribeLine = "Чтобы не получать сообщения, ответьте «стоп»."

// message is one render's normalised input: Data for templates plus what the defaults need.
type message struct {
	Data
	salon       string    // what follows «салон»: « «Бархат»», or "" (salonTail)
	onWhen      string    // «на пятницу, 12 декабря, на 14:30»
	start       time.Time // Visit.Start in the salon's zone
	prevStart   time.Time // Visit.PreviousStart in the salon's zone
	timeChanged bool
	askConfirm  bool
}

func newMessage(salon Salon, v Visit) *message {
	loc := locOrDefault(salon.Location)
	m := &message{Data: Data{
		ClientName: capitalize(truncate(clean(v.ClientName), maxNameLen)),
		Services:   joinServices(v.Services),
		Staff:      capitalize(truncate(clean(v.StaffName), maxStaffLen)),
		SalonName:  salonName(salon.Name),
		Address:    truncate(clean(salon.Address), maxAddressLen),
		Phone:      truncate(clean(salon.Phone), maxPhoneLen),
		ReviewURL:  cleanURL(salon.ReviewURL),
	}, salon: salonTail(salon.Name)}
	if !v.Start.IsZero() {
		start := v.Start.In(loc)
		m.start, m.prevStart = start, v.PreviousStart.In(loc)
		m.When = at("в", start)
		m.onWhen = at("на", start)
		m.Date = formatDate(start)
		m.Time = formatClock(start)
		m.Day = relativeDay(v.Now, v.Start, loc)
		// A change is a reschedule only if the client would see a different time.
		if prev := FormatWhen(v.PreviousStart, loc); prev != "" && prev != m.When {
			m.PrevWhen = prev
			m.timeChanged = true
		}
	}
	return m
}

// defaults holds the default text of every Kind.
var defaults = map[Kind]func(*message) string{
	Confirmation:  confirmation,
	Change:        change,
	Cancellation:  cancellation,
	ReminderDay:   reminderDay,
	Reminder2h:    reminder2h,
	OptOutAck:     optOutAck,
	StartAck:      startAck,
	ClientWelcome: clientWelcome,
	ConfirmThanks: confirmThanks,
	DeclineAck:    declineAck,
	ReviewRequest: reviewRequest,
	ReviewThanks:  reviewThanks,
	ReviewSorry:   reviewSorry,
	Welcome:       ownerWelcome,
}

// «Анна, здравствуйте!» or «Здравствуйте!».
func (m *message) greeting() string {
	if m.ClientName == "" {
		return "Здравствуйте!"
	}
	return m.ClientName + ", здравствуйте!"
}

// salonAs puts the salon after a preposition and «салон» declined for it: salonAs("в салоне")
// gives « в салоне «Бархат»», or "" without a name.
func (m *message) salonAs(words string) string {
	if m.salon == "" {
		return ""
	}
	return " " + words + m.salon
}

// What the visit is, closing the sentence: «: Стрижка и Укладка, мастер Оксана.»,
// «: Стрижка.», «. Вас примет мастер Оксана.» or «.». The staff alone never follows a comma,
// where «…, мастер Оксана» would read as addressing her.
func (m *message) details() string {
	switch {
	case m.Services != "" && m.Staff != "":
		return ": " + m.Services + ", мастер " + m.Staff + "."
	case m.Services != "":
		return ": " + m.Services + "."
	case m.Staff != "":
		return ". Вас примет мастер " + m.Staff + "."
	}
	return "."
}

// The same in parentheses for the middle of a sentence: « (Стрижка, мастер Оксана)» or "".
func (m *message) detailsInParens() string {
	switch {
	case m.Services != "" && m.Staff != "":
		return " (" + m.Services + ", мастер " + m.Staff + ")"
	case m.Services != "":
		return " (" + m.Services + ")"
	case m.Staff != "":
		return " (мастер " + m.Staff + ")"
	}
	return ""
}

// The address and phone lines; empty ones are dropped by lines.
func (m *message) contacts() string {
	return lines(label("Адрес: ", m.Address), label("Телефон: ", m.Phone))
}

// ConfirmLine when the caller asked for a confirmation, else "".
func (m *message) confirmLine() string {
	if m.askConfirm {
		return ConfirmLine
	}
	return ""
}

func label(name, value string) string {
	if value == "" {
		return ""
	}
	return name + value
}

// join joins the non-empty parts with sep.
func join(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// lines joins the non-empty parts with newlines: a missing field never leaves an empty line.
func lines(parts ...string) string {
	// A field cut to length ends with «…»; our sentence's full stop after it would be noise.
	return strings.ReplaceAll(join("\n", parts...), "….", "…")
}

func confirmation(m *message) string {
	return lines(
		m.greeting(),
		"Вы записаны"+m.salonAs("в салон")+" "+m.When+m.details(),
		m.contacts(),
		"Ждём вас!",
		m.confirmLine(),
		unsubscribeLine,
	)
}

func change(m *message) string {
	if m.timeChanged {
		return lines(
			m.greeting(),
			"Ваша запись"+m.salonAs("в салон")+" перенесена "+m.onWhen+m.details(),
			"Раньше она была "+m.prevWhen()+".",
			m.contacts(),
			"Ждём вас!",
		)
	}
	// Only the staff or the services changed: say what, and that the time stays.
	var now string
	switch {
	case m.Services != "" && m.Staff != "":
		now = "Теперь в записи: " + m.Services + ", мастер " + m.Staff + "."
	case m.Services != "":
		now = "Теперь в записи: " + m.Services + "."
	case m.Staff != "":
		now = "Теперь вас примет мастер " + m.Staff + "."
	}
	return lines(
		m.greeting(),
		"Мы обновили вашу запись"+m.salonAs("в салон")+".",
		now,
		"Время не изменилось — ждём вас "+m.When+".",
		m.contacts(),
	)
}

// prevWhen is the old time of a reschedule: only «в 12:00» when the day stays the same.
func (m *message) prevWhen() string {
	if m.prevStart.Format(time.DateOnly) == m.start.Format(time.DateOnly) {
		return "в " + formatClock(m.prevStart)
	}
	return m.PrevWhen
}

func cancellation(m *message) string {
	again := "Будем рады видеть вас снова — записаться можно в любое удобное для вас время."
	if m.Phone != "" {
		again = "Будем рады видеть вас снова — записаться можно по телефону " + m.Phone + "."
	}
	return lines(
		m.greeting(),
		"Ваша запись"+m.salonAs("в салон")+" "+m.onWhen+m.detailsInParens()+" отменена.",
		again,
	)
}

// reminderDay says «завтра, в пятницу, 12 декабря, в 14:30» only when the visit is tomorrow in
// the salon's zone; sent late, on the day itself, «сегодня в 14:30», where the date would only
// confuse.
func reminderDay(m *message) string {
	when := m.When
	switch m.Day {
	case "завтра":
		when = "завтра, " + m.When
	case "сегодня":
		when = "сегодня в " + m.Time
	}
	return reminder(m, when)
}

// reminder2h never says «через 2 часа»: a delayed send would make it false. Without Visit.Now
// it cannot know the day either, so it gives the full date.
func reminder2h(m *message) string {
	when := m.When
	if m.Day != "" {
		when = m.Day + " в " + m.Time
	}
	return reminder(m, when)
}

func reminder(m *message, when string) string {
	return lines(
		m.greeting(),
		"Напоминаем: "+when+" ждём вас"+m.salonAs("в салоне")+m.details(),
		label("Адрес: ", m.Address),
		label("Если планы изменились, позвоните: ", m.Phone),
		m.confirmLine(),
		unsubscribeLine,
	)
}
