package texts

// The owner's notices about a client's answer to ConfirmLine (OwnerLowScore, in
// defaults_replies.go, is the one about a review score).

// OwnerDeclined words the notice the salon's owner gets when a client answers «2» or «не
// смогу» to ConfirmLine: who, which visit, which master, and what became of the visit
// (cancelled in YClients, when the salon lets a «не смогу» cancel it; else the salon calls the
// client). clientPhone is shown as given; empty fields are left out.
func OwnerDeclined(salon Salon, v Visit, clientPhone string, cancelled bool) string {
	m := newMessage(salon, v)
	next := "Свяжитесь с клиентом, чтобы перенести или отменить запись: ему ответили, что с ним свяжутся."
	if cancelled {
		next = "Визит отменён в YClients, время освободилось; клиенту ответили."
	}
	return lines(
		"Клиент не сможет прийти"+m.salonAs("в салон")+".",
		m.ownerVisit(clientPhone),
		next,
	)
}

// OwnerConfirmNotSaved words the notice the owner gets when a client confirmed a visit by
// replying and YClients refused the change: the client was thanked, the record still shows
// the visit as not confirmed.
func OwnerConfirmNotSaved(salon Salon, v Visit, clientPhone string) string {
	m := newMessage(salon, v)
	return lines(
		"Клиент подтвердил визит"+m.salonAs("в салон")+", но отметить это в YClients не получилось.",
		m.ownerVisit(clientPhone),
		"Отметьте в записи «Клиент подтвердил» вручную.",
	)
}

// ownerVisit is the client, visit and master lines of an owner's notice.
func (m *message) ownerVisit(clientPhone string) string {
	var when string
	if m.When != "" {
		when = m.Date + ", " + m.Time
	}
	return lines(
		label("Клиент: ", join(", ", m.ClientName, truncate(clean(clientPhone), maxPhoneLen))),
		label("Визит: ", join(" — ", when, m.Services)),
		label("Мастер: ", m.Staff),
	)
}
