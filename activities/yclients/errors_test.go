package yclients

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, in string
		want     time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"spaces", " 1 ", time.Second},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"negative", "-3", 0},
		{"empty", "", 0},
		{"garbage", "soon", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, parseRetryAfter(c.in, now))
		})
	}
}

func TestErrorMessage(t *testing.T) {
	cases := []struct {
		name, contentType, body, want string
	}{
		{"v2", "application/json", `{"success":false,"data":null,"meta":{"message":"Необходима авторизация"}}`, "Необходима авторизация"},
		{"v2 with errors", "application/json",
			`{"success":false,"data":null,"meta":{"message":"Переданы невалидные параметры","errors":["api_key: обязательное поле",{"field":"salon_id","message":"неверный"}]}}`,
			"Переданы невалидные параметры: api_key: обязательное поле; salon_id: неверный"},
		{"legacy", "application/json", `{"errors":{"code":404,"message":"Филиал не найден"},"meta":{"message":"Филиал не найден"}}`, "Филиал не найден"},
		{"legacy without meta message", "application/json", `{"errors":{"code":401,"message":"Необходима авторизация"},"meta":[]}`, "Необходима авторизация"},
		{"html by content type", "text/html; charset=UTF-8", `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>`, "unexpected HTML response: 502 Bad Gateway"},
		{"html sniffed", "", `<html><body>oops</body></html>`, "unexpected HTML response"},
		{"plain text", "text/plain", `upstream timed out`, "unexpected non-JSON response (text/plain, 18 bytes)"},
		{"empty", "", ``, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, errorMessage(c.contentType, []byte(c.body)))
		})
	}
}

func TestAPIErrorRetryable(t *testing.T) {
	for status, want := range map[int]bool{
		400: false, 401: false, 403: false, 404: false, 422: false,
		429: true, 500: true, 502: true, 503: true, 504: true,
	} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			err := fmt.Errorf("activity: %w", &APIError{StatusCode: status})
			require.Equal(t, want, (&APIError{StatusCode: status}).Retryable())
			require.Equal(t, want, IsRetryable(err))
		})
	}
	t.Run("network errors are retryable", func(t *testing.T) {
		err := fmt.Errorf("wrapped: %w", &NetworkError{Op: "GET /api/v1/company/1", Err: errors.New("connection refused")})
		require.True(t, IsRetryable(err))
		var netErr *NetworkError
		require.ErrorAs(t, err, &netErr)
		require.True(t, netErr.Retryable())
		require.Contains(t, err.Error(), "connection refused")
	})
	t.Run("other errors are not", func(t *testing.T) {
		require.False(t, IsRetryable(errors.New("boom")))
	})
}

func TestErrorHelpers(t *testing.T) {
	wrap := func(e *APIError) error { return fmt.Errorf("yclients: GET /x: %w", e) }
	require.True(t, IsNotFound(wrap(&APIError{StatusCode: 404})))
	require.False(t, IsNotFound(wrap(&APIError{StatusCode: 403})))
	require.True(t, IsUnauthorized(wrap(&APIError{StatusCode: 401})))
	require.True(t, IsRateLimited(wrap(&APIError{StatusCode: 429, RetryAfter: time.Second})))
	require.True(t, IsAlreadyInstalled(wrap(&APIError{StatusCode: 403, Message: "Пользователь уже установил это приложение"})))
	require.False(t, IsAlreadyInstalled(wrap(&APIError{StatusCode: 403, Message: "Нет доступа к приложению"})))
	require.False(t, IsAlreadyInstalled(wrap(&APIError{StatusCode: 422, Message: "уже установил"})))
	require.False(t, IsNotFound(errors.New("404")))
	require.False(t, IsNotFound(nil))

	t.Run("error text", func(t *testing.T) {
		require.Equal(t, "yclients: HTTP 404: Филиал не найден", (&APIError{StatusCode: 404, Message: "Филиал не найден"}).Error())
		require.Equal(t, "yclients: HTTP 503: Service Unavailable", (&APIError{StatusCode: 503}).Error())
		require.Equal(t, "yclients: HTTP 429: slow down (retry after 2s)", (&APIError{StatusCode: 429, Message: "slow down", RetryAfter: 2 * time.Second}).Error())
	})
}

func TestRedact(t *testing.T) {
	c := New(Config{PartnerToken: "partner-SECRET", UserToken: "user-SECRET"})
	got := c.redact("token partner-SECRET and user-SECRET and key-12345", "key-12345")
	require.Equal(t, "token *** and *** and ***", got)
}
