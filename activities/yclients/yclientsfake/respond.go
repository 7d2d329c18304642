package yclientsfake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
)

// Messages YClients answers with (reference §1.4, §2, §5.2).
const (
	msgUnauthorized     = "Необходима авторизация"
	msgNoAccess         = "Нет доступа к приложению"
	msgNotInstalled     = "Приложение не установлено в салоне"
	msgInvalidParams    = "Переданы невалидные параметры"
	msgAlreadyInstalled = "Пользователь уже установил это приложение"
	msgCompanyNotFound  = "Филиал не найден"
	msgNotFound         = "Не найдено"
	msgTooManyRequests  = "Превышен лимит запросов, повторите попытку позже"
	msgServerError      = "Внутренняя ошибка сервера"
	msgBadAccept        = "Неверный заголовок Accept: ожидается application/vnd.yclients.v2+json"
	msgVisitNotFound    = "Визит не найден"
)

// writeJSON writes v as JSON with the given status. Russian text and "<" stay unescaped, as in
// YClients' answers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeData writes the v2 success envelope {"success":true,"data":…,"meta":…}.
func writeData(w http.ResponseWriter, status int, data, meta any) {
	if meta == nil {
		meta = map[string]any{}
	}
	writeJSON(w, status, map[string]any{"success": true, "data": data, "meta": meta})
}

// writeV2Error writes {"success":false,"data":null,"meta":{"message":…[,"errors":[…]]}}.
func writeV2Error(w http.ResponseWriter, status int, msg string, errs ...string) {
	meta := map[string]any{"message": msg}
	if len(errs) > 0 {
		meta["errors"] = errs
	}
	writeJSON(w, status, map[string]any{"success": false, "data": nil, "meta": meta})
}

// writeLegacyError writes the older shape {"errors":{"code":…,"message":…},"meta":{"message":…}}
// that /api/v1/company/{id} answers with.
func writeLegacyError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{
		"errors": map[string]any{"code": status, "message": msg},
		"meta":   map[string]any{"message": msg},
	})
}

// writeHTML writes a small Russian HTML page.
func writeHTML(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>%s</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>%s</h1><p>%s</p></body></html>
`, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

// readBody reads a request body of at most 1 MiB.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

// pathID parses a positive integer path value.
func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// bufferedResponse holds an answer so that a fault hit after serving can delay or replace it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header implements http.ResponseWriter.
func (b *bufferedResponse) Header() http.Header { return b.header }

// WriteHeader implements http.ResponseWriter; the first status counts.
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

// Write implements http.ResponseWriter.
func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// flushTo sends the held answer.
func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}
