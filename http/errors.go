package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
)

// Kinds of failure a handler reports. Their status codes and default texts live in kinds below:
// this file is the one place where errors become responses.
type errKind int

const (
	kindInternal errKind = iota
	kindBadRequest
	kindUnauthorized
	kindForbidden
	kindNotFound
	kindConflict
	kindTooMany
	kindUnavailable
)

// kindInfo is how one kind is answered: the status code, the JSON error text for machines and
// the Russian page for a person.
type kindInfo struct {
	status int
	code   string
	page   pageText
}

// pageText is the content of the Russian error page.
type pageText struct {
	Title   string
	Message string
	Hint    string
}

var kinds = map[errKind]kindInfo{
	kindInternal: {http.StatusInternalServerError, "internal error", pageText{
		"Что-то пошло не так",
		"На нашей стороне произошла ошибка.",
		"Попробуйте ещё раз через минуту.",
	}},
	kindBadRequest: {http.StatusBadRequest, "bad request", pageText{
		"Неверная ссылка",
		"В ссылке не хватает данных о салоне.",
		"Откройте AI Admin из маркетплейса YClients ещё раз: кнопка «Подключить» в карточке приложения.",
	}},
	kindUnauthorized: {http.StatusUnauthorized, "unauthorized", pageText{
		"Сессия истекла",
		"Ссылка на страницу подключения больше не действует.",
		"Откройте AI Admin из маркетплейса YClients ещё раз.",
	}},
	kindForbidden: {http.StatusForbidden, "forbidden", pageText{
		"Не удалось проверить ссылку",
		"Ссылка пришла не из YClients или была изменена.",
		"Откройте AI Admin из маркетплейса YClients ещё раз: кнопка «Подключить» в карточке приложения.",
	}},
	kindNotFound: {http.StatusNotFound, "not found", pageText{
		"Не найдено",
		"Такой страницы нет.",
		"Проверьте ссылку или откройте AI Admin из маркетплейса YClients.",
	}},
	kindConflict: {http.StatusConflict, "conflict", pageText{
		"Сейчас это невозможно",
		"Действие не подходит к текущему состоянию подключения.",
		"Обновите страницу и попробуйте ещё раз.",
	}},
	kindTooMany: {http.StatusTooManyRequests, "too many requests", pageText{
		"Слишком много попыток",
		"С вашего адреса пришло слишком много запросов подряд.",
		"Подождите минуту и откройте AI Admin из YClients ещё раз.",
	}},
	kindUnavailable: {http.StatusServiceUnavailable, "service unavailable", pageText{
		"Сервис временно недоступен",
		"Мы не смогли связаться с сервером подключения.",
		"Подождите минуту и обновите страницу. Ваши данные не потеряются.",
	}},
}

// apiError is a failure with its kind. msg replaces the kind's JSON error text, page its Russian
// page; err is the cause, logged and never shown. A JSON answer for a page's script may carry
// a Russian message to show and, for a form, Russian errors per field.
type apiError struct {
	kind    errKind
	msg     string
	page    *pageText
	err     error
	message string            // Russian, for the person in front of the page
	fields  map[string]string // field → Russian error
}

func (e *apiError) Error() string {
	s := kinds[e.kind].code
	if e.msg != "" {
		s = e.msg
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *apiError) Unwrap() error { return e.err }

// fail builds an apiError with a public (JSON) message.
func fail(kind errKind, msg string) *apiError { return &apiError{kind: kind, msg: msg} }

// withPage sets the Russian page shown to a person.
func (e *apiError) withPage(title, message, hint string) *apiError {
	e.page = &pageText{Title: title, Message: message, Hint: hint}
	return e
}

// saying sets the Russian message a page's script shows (the JSON "message").
func (e *apiError) saying(message string) *apiError {
	e.message = message
	return e
}

// withFields sets the Russian errors per field of a form (the JSON "fields").
func (e *apiError) withFields(fields map[string]string) *apiError {
	e.fields = fields
	return e
}

// because records the cause, for the log only.
func (e *apiError) because(err error) *apiError {
	e.err = err
	return e
}

// temporalUnavailable reports whether err means Temporal could not be reached or did not answer
// in time, as opposed to an answer about the workflow.
func temporalUnavailable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	var canceled *serviceerror.Canceled
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.As(err, &canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// workflowNotFound reports whether Temporal answered that the workflow (or run) does not exist
// or is no longer running.
func workflowNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// classify turns any error into an apiError: Temporal's transport errors are "unavailable",
// anything unknown is internal.
func classify(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case temporalUnavailable(err):
		return &apiError{kind: kindUnavailable, err: err}
	default:
		return &apiError{kind: kindInternal, err: err}
	}
}

// ctxHTML marks a route whose errors are shown to a person as the Russian page.
const ctxHTML = "httpapi.html"

// htmlErrors marks the route's errors as meant for a browser.
func htmlErrors(c *gin.Context) {
	c.Set(ctxHTML, true)
	c.Next()
}

// abort stops the handler chain with err; renderErrors answers it.
func abort(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// renderErrors is the middleware that answers every error a handler reported with abort: JSON
// {"error": …} for machines, the Russian page for a browser. The cause is logged here, once.
func renderErrors(log *slog.Logger, pages *pages) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 {
			return
		}
		ae := classify(c.Errors.Last().Err)
		info := kinds[ae.kind]
		if c.GetString(ctxRequestID) == "" { // a router without the requestID middleware
			c.Set(ctxRequestID, newRequestID())
		}
		level := slog.LevelInfo
		if info.status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(c.Request.Context(), level, "request failed",
			slog.String("method", c.Request.Method), slog.String("path", logPath(c)),
			slog.Int("status", info.status), slog.String("error", ae.Error()),
			slog.String("requestID", c.GetString(ctxRequestID)))
		if c.Writer.Written() {
			return // e.g. the websocket was already upgraded
		}
		if c.GetBool(ctxHTML) {
			text := info.page
			if ae.page != nil {
				text = *ae.page
			}
			pages.renderError(c, info.status, text)
			return
		}
		msg := info.code
		if ae.msg != "" {
			msg = ae.msg
		}
		body := gin.H{"error": msg, "request_id": c.GetString(ctxRequestID)}
		if ae.message != "" {
			body["message"] = ae.message
		}
		if len(ae.fields) > 0 {
			body["fields"] = ae.fields
		}
		c.JSON(info.status, body)
	}
}

// notFoundRoute answers unknown routes through the same path.
func notFoundRoute(c *gin.Context) {
	abort(c, fail(kindNotFound, "not found"))
}
