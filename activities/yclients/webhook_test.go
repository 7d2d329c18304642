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

// A NUL in a routing field cannot be stored in PostgreSQL's text columns: the body is refused
// (400, never retried) rather than failing the insert (503, retried by YClients forever).
func TestParseWebhookRefusesNUL(t *testing.T) {
	for _, bad := range []string{
		`{"resource":"rec\u0000ord","resource_id":1,"status":"create","data":{}}`,
		`{"resource":"\u0000","resource_id":1,"status":"create","data":{}}`,
		`{"resource":"record","resource_id":1,"status":"create\u0000","data":{}}`,
		`{"resource":"record","resource_id":"1\u0000","status":"create","data":{}}`,
	} {
		_, _, err := ParseWebhook([]byte(bad))
		require.ErrorIs(t, err, ErrMalformedWebhook, bad)
	}
	// A NUL inside data is the dispatcher's business (it strips it before storing text).
	_, id, err := ParseWebhook([]byte(`{"resource":"client","resource_id":5,"status":"create","data":{"id":5,"name":"Ан\u0000на"}}`))
	require.NoError(t, err)
	require.EqualValues(t, 5, id)
}

func TestDecodeClient(t *testing.T) {
	c, err := DecodeClient([]byte(`{"id":"77","name":"Мария","phone":79995556677}`))
	require.NoError(t, err)
	require.Equal(t, WebhookClient{ID: 77, Name: "Мария", Phone: "79995556677"}, c)
	_, err = DecodeClient([]byte(`{"name":"Мария"}`))
	require.ErrorIs(t, err, ErrNoClient)
}

// Found by the fault-injection suite (R6): a well-formed envelope followed by more data, and a
// record or client webhook without its resource_id, were taken (the latter stored under ID 0,
// which made a booking-<salon>-0 workflow). Both are malformed now.
func TestParseWebhookRefusesTrailingDataAndMissingIDs(t *testing.T) {
	for name, body := range map[string]string{
		"trailing object":     `{"resource":"record","resource_id":5,"status":"create","data":{}}{"x":1}`,
		"trailing garbage":    `{"resource":"record","resource_id":5,"status":"create","data":{}} trailing`,
		"record without id":   `{"resource":"record","status":"create","data":{"id":5}}`,
		"client with id 0":    `{"resource":"client","resource_id":0,"status":"create","data":{"id":5}}`,
		"record, negative id": `{"resource":"record","resource_id":-3,"status":"update","data":{}}`,
	} {
		_, _, err := ParseWebhook([]byte(body))
		require.ErrorIs(t, err, ErrMalformedWebhook, name)
	}
	_, id, err := ParseWebhook([]byte(`{"resource":"record","resource_id":5,"status":"create","data":{}}` + "\n"))
	require.NoError(t, err, "trailing whitespace is fine")
	require.EqualValues(t, 5, id)
	_, _, err = ParseWebhook([]byte(`{"resource":"goods_operations_sale","status":"create","data":{}}`))
	require.NoError(t, err, "a resource AI Admin ignores needs no ID")
}
