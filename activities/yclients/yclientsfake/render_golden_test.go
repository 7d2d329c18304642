package yclientsfake_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// TestRecordRenderingIsByteForByte: the records the fake answers and sends, byte for byte as
// testdata/records.golden holds them (made from the map-based rendering before recordJSON):
// the seeded salons' day lists (records with and without a client, staff with and without a
// position, deleted ones, discounted services), one record's GET, the control API's record,
// and an update webhook. AIADMIN_UPDATE_GOLDEN=1 writes the file instead.
func TestRecordRenderingIsByteForByte(t *testing.T) {
	now := time.Date(2026, 12, 7, 7, 30, 0, 0, time.UTC)
	rv := &receiver{}
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1, Now: func() time.Time { return now }})
	activate(t, srv, 100001, startReceiver(t, rv))
	// A salon with what the seed lacks: a master without a position, a record whose master is
	// gone (staff {}), a discounted and a dearer price, a service no longer offered, a
	// fractional price, a client without a phone.
	visit := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	f.AddSalon(yclientsfake.Salon{ID: 200001, Title: "Крайние случаи", Timezone: "Asia/Yekaterinburg",
		Services: []yclientsfake.Service{{ID: 1, Title: "Маникюр", PriceMin: 1500, PriceMax: 2000, DurationSeconds: 3600, Active: true},
			{ID: 2, Title: "Дизайн", PriceMin: 333.5, PriceMax: 333.5, DurationSeconds: 900, Active: true}},
		Staff: []yclientsfake.Staff{{ID: 11, Name: "Ольга", Bookable: true}},
		Records: []yclientsfake.Record{
			{ID: 1, StaffID: 11, ServiceIDs: []int64{1, 2, 99}, ClientID: 5, ClientName: "Ира", ClientPhone: "79001112233",
				Datetime: visit, SeanceLength: 4500, Costs: map[int64]float64{1: 1200, 2: 400}, CreatedAt: now, ChangedAt: now},
			{ID: 2, StaffID: 12, ServiceIDs: []int64{1}, ClientID: 6, ClientName: "Без телефона", Datetime: visit.Add(2 * time.Hour),
				SeanceLength: 3600, Attendance: -1, Deleted: true, Comment: "«кавычки» и \"экраны\" <b>", CreatedAt: now, ChangedAt: now},
		}})
	var got strings.Builder
	add := func(name string, a answer) {
		require.Equal(t, http.StatusOK, a.status, "%s: %s", name, a.raw)
		got.WriteString("== " + name + "\n" + a.raw + "\n")
	}
	for _, salon := range []string{"100001", "100002", "100003", "200001"} {
		for page := range 2 {
			q := "?start_date=2026-11-01&end_date=2027-01-31&with_deleted=1&count=100&page=" + string(rune('1'+page))
			add("GET /records/"+salon+q, do(t, srv, call{path: "/api/v1/records/" + salon + q, api: true}))
		}
	}
	add("GET /record/100001/500001", do(t, srv, call{path: "/api/v1/record/100001/500001", api: true}))
	add("control GET record", do(t, srv, call{path: "/_fake/salons/100001/records/500002"}))
	add("PUT visit", do(t, srv, call{method: http.MethodPut, path: "/api/v1/visits/7500002/500002",
		body: `{"attendance":2,"comment":"Нюдовый оттенок"}`, api: true}))
	waitDeliveries(t, f, 1)
	got.WriteString("== update webhook\n" + rv.got()[0].raw + "\n")

	golden := filepath.Join("testdata", "records.golden")
	if os.Getenv("AIADMIN_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got.String())
}
