package yclientsfake

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSaveLoadKeepsSalonsStatusAndCallbacks(t *testing.T) {
	f := New(Options{PartnerToken: "p", ApplicationID: 1})
	f.SeedDemo()
	f.SetStatus(DemoSalonMoscow, StatusActive)
	f.mu.Lock()
	f.callbacks = append(f.callbacks, Callback{SalonID: DemoSalonMoscow, WebhookURLs: []string{"http://x/webhook/yclients/100001/s"}, StatusCode: 301})
	f.mu.Unlock()
	rec, err := f.CreateRecord(DemoSalonMoscow, RecordInput{Datetime: "2030-01-02 10:00:00", Client: &ClientInput{Name: "Анна", Phone: "79990001122"}})
	require.NoError(t, err)
	var shaped Salon // a company given in YClients' shape keeps its other fields
	require.NoError(t, decodeStrict([]byte(`{"id":"555","title":"Салон","timezone":10,"timezone_name":"Asia/Vladivostok",
		"social":{"vk":"vk.com/x"},"staff":[{"id":"7","name":"Оля","position":{"id":3,"title":"Мастер"},"user_id":9}],
		"services":[{"id":"1","title":"Стрижка","price_min":"900.00","api_id":"A1","staff":[{"id":"7","seance_length":"1800"}]}]}`), &shaped))
	f.AddSalon(shaped)
	path := filepath.Join(t.TempDir(), "fake.json")
	require.NoError(t, f.Save(path))
	f.Close()

	g := New(Options{PartnerToken: "p", ApplicationID: 1})
	defer g.Close()
	ok, err := g.Load(path)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, StatusActive, g.Status(DemoSalonMoscow))
	require.Len(t, g.Callbacks(), 1)
	got, found := g.Record(DemoSalonMoscow, rec.ID)
	require.True(t, found)
	require.True(t, got.Datetime.Equal(rec.Datetime))
	require.Equal(t, rec.VisitID, got.VisitID)
	reloaded, found := g.Salon(555)
	require.True(t, found)
	wantSalon, _ := f.Salon(555)
	require.Equal(t, wantSalon, reloaded, "extra fields, positions and staff of services survive")
	require.JSONEq(t, `{"vk":"vk.com/x"}`, string(reloaded.Extra["social"]))
	next, err := g.CreateRecord(DemoSalonMoscow, RecordInput{Datetime: "2030-01-03 10:00:00"})
	require.NoError(t, err)
	require.Greater(t, next.ID, rec.ID, "record IDs go on")

	missing, err := g.Load(filepath.Join(t.TempDir(), "none.json"))
	require.NoError(t, err)
	require.False(t, missing)
}
