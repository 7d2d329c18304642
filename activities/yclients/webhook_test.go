package yclients

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseWebhook(t *testing.T) {
	_, id, err := ParseWebhook([]byte(`{"company_id":"1","resource":"record","resource_id":"42","status":"create","data":{}}`))
	require.NoError(t, err)
	require.EqualValues(t, 42, id, "IDs as strings are accepted")
	for _, bad := range []string{``, `{`, `[]`, `{"resource":"record","status":"nope"}`, `{"status":"create"}`, `{"resource":"record","resource_id":"x","status":"create"}`} {
		_, _, err := ParseWebhook([]byte(bad))
		require.ErrorIs(t, err, ErrMalformedWebhook, bad)
	}
}

func TestDecodeClient(t *testing.T) {
	c, err := DecodeClient([]byte(`{"id":"77","name":"Мария","phone":79995556677}`))
	require.NoError(t, err)
	require.Equal(t, WebhookClient{ID: 77, Name: "Мария", Phone: "79995556677"}, c)
	_, err = DecodeClient([]byte(`{"name":"Мария"}`))
	require.ErrorIs(t, err, ErrNoClient)
}
