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
	next, err := g.CreateRecord(DemoSalonMoscow, RecordInput{Datetime: "2030-01-03 10:00:00"})
	require.NoError(t, err)
	require.Greater(t, next.ID, rec.ID, "record IDs go on")

	missing, err := g.Load(filepath.Join(t.TempDir(), "none.json"))
	require.NoError(t, err)
	require.False(t, missing)
}
