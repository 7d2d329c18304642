package texts

import "strings"

// unsubscribeLine ends every message the client did not ask for, so opting out is always one
// word away.
const unsubscribeLine = "Чтобы не получать сообщения, ответьте «стоп»."

// message is one render's normalised input: Data for templates plus what the defaults need.
type message struct {
	Data
	timeChanged bool
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
	}}
	if !v.Start.IsZero() {
		start := v.Start.In(loc)
		m.When = FormatWhen(start, loc)
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
	ClientWelcome: clientWelcome,
	Welcome:       ownerWelcome,
}

// ownerWelcome goes to the salon's own number once WhatsApp is linked.
func ownerWelcome(m *message) string {
	if m.SalonName == "" {
		return "Здравствуйте! AI Admin подключён. С этого номера клиенты салона будут получать " +
			"подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно."
	}
	return "Здравствуйте! AI Admin подключён к салону «" + m.SalonName + "». С этого номера клиенты будут получать " +
		"подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно."
}

// «Анна, здравствуйте!» or «Здравствуйте!».
func (m *message) greeting() string {
	if m.ClientName == "" {
		return "Здравствуйте!"
	}
	return m.ClientName + ", здравствуйте!"
}

// « в салон «Бархат»» (where one books) or "".
func (m *message) toSalon() string {
	if m.SalonName == "" {
		return ""
	}
	return " в салон «" + m.SalonName + "»"
}

// « в салоне «Бархат»» (where one is awaited) or "".
func (m *message) inSalon() string {
	if m.SalonName == "" {
		return ""
	}
	return " в салоне «" + m.SalonName + "»"
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

func label(name, value string) string {
	if value == "" {
		return ""
	}
	return name + value
}

// lines joins the non-empty parts with newlines: a missing field never leaves an empty line.
func lines(parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	// A field cut to length ends with «…»; our sentence's full stop after it would be noise.
	return strings.ReplaceAll(strings.Join(kept, "\n"), "….", "…")
}

func confirmation(m *message) string {
	return lines(
		m.greeting(),
		"Вы записаны"+m.toSalon()+" на "+m.When+m.details(),
		m.contacts(),
		"Ждём вас!",
		unsubscribeLine,
	)
}

func change(m *message) string {
	if m.timeChanged {
		return lines(
			m.greeting(),
			"Ваша запись"+m.toSalon()+" перенесена с "+m.PrevWhen+" на "+m.When+m.details(),
			m.contacts(),
			"Ждём вас!",
		)
	}
	// Only the staff or the services changed: say so, and that the time stays.
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
		"Ваша запись"+m.toSalon()+" на "+m.When+" изменена, время прежнее.",
		now,
		m.contacts(),
		"Ждём вас!",
	)
}

func cancellation(m *message) string {
	again := "Будем рады видеть вас снова — записаться можно в любое удобное для вас время."
	if m.Phone != "" {
		again = "Будем рады видеть вас снова — записаться можно по телефону " + m.Phone + "."
	}
	return lines(
		m.greeting(),
		"Ваша запись"+m.toSalon()+" на "+m.When+m.detailsInParens()+" отменена.",
		again,
	)
}

func reminderDay(m *message) string {
	when := m.When
	switch m.Day {
	case "завтра":
		when = "завтра, " + m.When
	case "сегодня": // a late day-before reminder: the date would only confuse
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
		"Напоминаем: "+when+" ждём вас"+m.inSalon()+m.details(),
		m.contacts(),
		unsubscribeLine,
	)
}

func optOutAck(m *message) string {
	from := ""
	if m.SalonName != "" {
		from = " от салона «" + m.SalonName + "»"
	}
	return "Хорошо, больше не будем присылать вам сообщения" + from + "."
}

func clientWelcome(m *message) string {
	thanks := "Спасибо, что выбрали нас!"
	if m.SalonName != "" {
		thanks = "Спасибо, что выбрали салон «" + m.SalonName + "»!"
	}
	return lines(
		m.greeting(),
		thanks+" В этом чате будем присылать подтверждения записей и напоминания о визитах.",
		m.contacts(),
		unsubscribeLine,
	)
}
