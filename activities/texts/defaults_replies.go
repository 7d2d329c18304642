package texts

import "strconv"

// resumeLine ends the opt-out acknowledgement: the way back is one word too.
const resumeLine = "Чтобы снова получать сообщения, напишите «старт»."

// The texts below answer the client (their «стоп», «старт», «1», «2», a score) or greet them,
// and the owner's own messages.

// «Анна, спасибо» or «Спасибо», to open a short answer.
func (m *message) thanks() string {
	if m.ClientName == "" {
		return "Спасибо"
	}
	return m.ClientName + ", спасибо"
}

func optOutAck(m *message) string {
	return lines(
		"Хорошо, больше не будем присылать вам сообщения"+m.salonAs("от салона")+".",
		resumeLine,
	)
}

func startAck(m *message) string {
	return lines(
		"Хорошо, снова будем присылать вам подтверждения записей и напоминания"+m.salonAs("от салона")+".",
		unsubscribeLine,
	)
}

func clientWelcome(m *message) string {
	thanks := "Спасибо, что выбрали нас!"
	if m.salon != "" {
		thanks = "Спасибо, что выбрали" + m.salonAs("салон") + "!"
	}
	return lines(
		m.greeting(),
		thanks+" В этом чате будем присылать подтверждения записей и напоминания о визитах.",
		m.contacts(),
		unsubscribeLine,
	)
}

// confirmThanks answers «1» or «да»: «Анна, спасибо, что подтвердили! Ждём вас завтра в 14:30.»
func confirmThanks(m *message) string {
	wait := "Ждём вас!"
	switch {
	case m.Day != "":
		wait = "Ждём вас " + m.Day + " в " + m.Time + "."
	case m.When != "":
		wait = "Ждём вас " + m.When + "."
	}
	return m.thanks() + ", что подтвердили! " + wait
}

// declineAck answers «2» or «не смогу»: the salon calls back to cancel or move the visit.
func declineAck(m *message) string {
	return lines(
		m.thanks()+", передали администратору — с вами свяжутся.",
		label("Если удобнее, позвоните: ", m.Phone),
	)
}

func reviewRequest(m *message) string {
	visit := "Как вам визит к нам?"
	if m.salon != "" {
		visit = "Как вам визит" + m.salonAs("в салон") + "?"
	}
	return lines(
		m.greeting(),
		visit+" Оцените его от 1 до 5 — просто ответьте цифрой.",
		unsubscribeLine,
	)
}

// reviewThanks answers a 4 or 5 with the salon's public review link, when it has one.
func reviewThanks(m *message) string {
	return lines(
		m.thanks()+" за высокую оценку! Рады, что вам понравилось.",
		label("Если найдёте минуту, оставьте, пожалуйста, отзыв: ", m.ReviewURL),
		"Ждём вас снова!",
	)
}

// reviewSorry answers a 1 to 3: no public link; the owner gets the details (OwnerLowScore).
func reviewSorry(m *message) string {
	return lines(
		m.thanks()+" за честную оценку. Жаль, что не всё прошло хорошо. Мы передали вашу оценку руководителю салона и обязательно разберёмся.",
		label("Если захотите рассказать подробнее, позвоните: ", m.Phone),
	)
}

// ownerWelcome goes to the salon's own number once WhatsApp is linked.
func ownerWelcome(m *message) string {
	who := "клиенты салона"
	if m.salon != "" {
		who = "клиенты"
	}
	return "Здравствуйте! AI Admin подключён" + m.salonAs("к салону") + ". С этого номера " + who +
		" будут получать подтверждения записей, напоминания и уведомления об изменениях." +
		" Отвечать на это сообщение не нужно."
}

// OwnerLowScore words the notice the salon's owner gets when a client scores a visit 1–3
// (ReviewSorry went to the client, without the public review link): who, which visit, which
// master, what score. clientPhone is shown as given; empty fields are left out.
func OwnerLowScore(salon Salon, v Visit, score int, clientPhone string) string {
	m := newMessage(salon, v)
	return lines(
		"Низкая оценка визита"+m.salonAs("в салон")+": "+strconv.Itoa(score)+" из 5.",
		m.ownerVisit(clientPhone),
		"Публичную ссылку на отзывы клиент не получил. Стоит связаться с ним, пока впечатления свежие.",
	)
}
