package httpapi

import (
	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/workflows"
)

// Pairing phases the connect page shows (the "pairing" field of a status frame).
const (
	phaseIdle    = "idle"    // no attempt yet, or the last one was superseded
	phaseRunning = "running" // codes are being shown
	phaseTimeout = "timeout" // the batch of codes ran out: offer «Показать новый код»
	phaseError   = "error"   // the attempt failed: offer a new one
	phaseSuccess = "success" // the phone was linked
	// phaseElsewhere: the running attempt belongs to another window of the salon: its codes
	// are shown there, not here.
	phaseElsewhere = "elsewhere"
)

// pairingPhase derives the phase from the workflow's pairing state.
func pairingPhase(p workflows.PairingState) string {
	if p.Running {
		return phaseRunning
	}
	switch p.LastOutcome {
	case activities.PairTimedOut:
		return phaseTimeout
	case activities.PairFailed:
		return phaseError
	case activities.PairSucceeded:
		return phaseSuccess
	}
	return phaseIdle
}

// Russian texts of the connect page.
const (
	textCodeExpired  = "Код истёк. Нажмите «Показать новый код», чтобы получить новый."
	textPairFailed   = "Не удалось подключить WhatsApp. Попробуйте ещё раз."
	textBadPhone     = "Проверьте номер телефона: укажите номер WhatsApp салона, например +7 900 000-00-00."
	textNoServer     = "Сервер подключения временно недоступен. Подождите минуту — страница обновится сама."
	textGone         = "Эта установка больше не активна. Откройте AI Admin из маркетплейса YClients ещё раз."
	textTryAgain     = "Не получилось выполнить запрос. Обновите страницу и попробуйте ещё раз."
	textRegistering  = "Салон ещё регистрируется. Подождите несколько секунд и попробуйте снова."
	textNotPending   = "Сейчас подключить WhatsApp нельзя: он уже подключён или установка остановлена. Обновите страницу."
	textBadCommand   = "Страница прислала непонятный запрос. Обновите страницу."
	textUnreadable   = "Не удалось прочитать запрос страницы. Обновите страницу."
	textQRFailed     = "Не удалось показать QR-код. Нажмите «Показать новый код»."
	textUnknownSalon = "Установка для этого салона не найдена. Откройте AI Admin из маркетплейса YClients ещё раз."
	textElsewhere    = "Подключение открыто в другом окне. Чтобы продолжить здесь, нажмите «Показать новый код»."
	textTooManyPages = "Подключение открыто в другом окне, поэтому это окно закрыто. Продолжайте в новом окне или обновите эту страницу."
	textNoPairing    = "С этой страницы подключить WhatsApp нельзя. Откройте AI Admin из маркетплейса YClients ещё раз."
	textRequestWait  = "Новый код можно получить через несколько секунд. Подождите немного и нажмите ещё раз."
	textBusy         = "Предыдущий запрос ещё выполняется. Подождите несколько секунд."
)

// statusMessage is the status line for an installation state, in the owner's words.
func statusMessage(st workflows.State) string {
	return statusText(st.Status, pairingPhase(st.Pairing), st.Pairing.Method, st.Pairing.LastError, st.Reason)
}

func statusText(status workflows.Status, phase, method, lastError, reason string) string {
	switch status {
	case workflows.StatusRegistering:
		return "Регистрируем салон в AI Admin…"
	case workflows.StatusPendingWhatsApp, workflows.StatusNeedsRelink:
		switch phase {
		case phaseRunning:
			if method == activities.PairByPhone {
				return "Введите код в WhatsApp на телефоне салона."
			}
			return "Отсканируйте QR-код в WhatsApp на телефоне салона."
		case phaseElsewhere:
			return textElsewhere
		case phaseTimeout:
			return textCodeExpired
		case phaseError:
			if lastError != "" {
				return lastError
			}
			return textPairFailed
		}
		if status == workflows.StatusNeedsRelink {
			return "WhatsApp отвязан от телефона салона, и клиенты сейчас не получают сообщений. Отсканируйте QR-код, чтобы привязать его снова."
		}
		return "Подключите WhatsApp салона: это займёт минуту."
	case workflows.StatusWhatsAppConnected:
		return "WhatsApp подключён. Активируем AI Admin в YClients…"
	case workflows.StatusConfiguring:
		return "WhatsApp подключён. Загружаем услуги, сотрудников и расписание салона…"
	case workflows.StatusActive:
		return "Готово! AI Admin активирован"
	case workflows.StatusFrozen:
		return "AI Admin приостановлен: в YClients закончился оплаченный период. После оплаты работа продолжится сама."
	case workflows.StatusUninstalled:
		return "AI Admin отключён в YClients. Чтобы подключить его снова, установите приложение из маркетплейса."
	case workflows.StatusExpired:
		return "Время на подключение истекло. Откройте AI Admin из маркетплейса YClients и нажмите «Подключить» ещё раз."
	case workflows.StatusFailed:
		if reason == workflows.ReasonSalonNotFound {
			return "Салон не найден в YClients. Подключите AI Admin из маркетплейса ещё раз."
		}
		return "Не удалось подключить салон. Откройте AI Admin из маркетплейса YClients ещё раз или напишите в поддержку."
	}
	return "Проверяем состояние подключения…"
}
