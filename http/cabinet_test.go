package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// defaultSettings are the settings of a salon that never saved any (the migration's defaults).
func defaultSettings() CabinetSettings {
	return CabinetSettings{SendConfirmation: true, SendChange: true, SendCancellation: true, SendReminderDay: true,
		ReminderDayBeforeHour: 18, SendReminderBefore: true, ReminderHoursBefore: 2, ReviewDelayMinutes: 180,
		ConfirmByReply: true, QuietHours: QuietWindow{From: "21:00", To: "09:00"}, PerMinute: 6, DailyCap: 300,
		Templates: map[string]string{}}
}

func TestValidateSettingsNamesEachBadFieldInRussian(t *testing.T) {
	cur := defaultSettings()
	require.Empty(t, validateSettings(cur, cur), "the defaults are valid")
	for _, c := range []struct {
		field  string
		change func(*CabinetSettings)
		want   string
	}{
		{"reminder_day_before_hour", func(s *CabinetSettings) { s.ReminderDayBeforeHour = 24 }, errHour},
		{"reminder_day_before_hour", func(s *CabinetSettings) { s.ReminderDayBeforeHour = -1 }, errHour},
		{"reminder_hours_before", func(s *CabinetSettings) { s.ReminderHoursBefore = 0 }, errHoursBefore},
		{"reminder_hours_before", func(s *CabinetSettings) { s.ReminderHoursBefore = 25 }, errHoursBefore},
		{"review_delay_minutes", func(s *CabinetSettings) { s.ReviewDelayMinutes = 29 }, errReviewDelay},
		{"review_delay_minutes", func(s *CabinetSettings) { s.ReviewDelayMinutes = 10081 }, errReviewDelay},
		{"review_url", func(s *CabinetSettings) { s.ReviewURL = "http://yandex.ru/maps/org/1" }, errReviewURL},
		{"review_url", func(s *CabinetSettings) { s.ReviewURL = "https://user:pw@yandex.ru/" }, errReviewURL},
		{"review_url", func(s *CabinetSettings) { s.ReviewURL = "https://localhost/" }, errReviewURL},
		{"review_url", func(s *CabinetSettings) { s.ReviewURL = "https://2gis.ru/" + strings.Repeat("a", 300) }, errReviewURL},
		{"quiet_hours.from", func(s *CabinetSettings) { s.QuietHours.From = "24:00" }, errClock},
		{"quiet_hours.from", func(s *CabinetSettings) { s.QuietHours.From = " 9:00" }, errClock},
		{"quiet_hours.to", func(s *CabinetSettings) { s.QuietHours.To = "09:60" }, errClock},
		{"per_minute", func(s *CabinetSettings) { s.PerMinute = 0 }, errPerMinute},
		{"per_minute", func(s *CabinetSettings) { s.PerMinute = 21 }, errPerMinute},
		{"daily_cap", func(s *CabinetSettings) { s.DailyCap = 0 }, errDailyCap},
		{"daily_cap", func(s *CabinetSettings) { s.DailyCap = 1001 }, errDailyCap},
		{"templates.welcome", func(s *CabinetSettings) { s.Templates["welcome"] = "Привет" }, errUnknownKind},
		{"templates.confirmation", func(s *CabinetSettings) { s.Templates["confirmation"] = "{{.Name}}" },
			"Неизвестное поле {{.Name}}. Можно использовать: {{.ClientName}}"},
	} {
		next := cur
		next.Templates = maps.Clone(cur.Templates)
		c.change(&next)
		got := validateSettings(cur, next)
		require.Len(t, got, 1, "%s: got %v", c.field, got)
		require.True(t, strings.HasPrefix(got[c.field], c.want), "%s: got %q want %q", c.field, got[c.field], c.want)
	}
	ok := cur
	ok.Templates = map[string]string{"confirmation": "{{.ClientName}}, ждём вас {{.When}}.", "change": ""}
	ok.ReviewURL, ok.QuietHours, ok.PerMinute, ok.DailyCap = "https://2gis.ru/moscow/firm/70000001", QuietWindow{"00:00", "23:59"}, 20, 1000
	require.Empty(t, validateSettings(cur, ok))

	// A value set outside the cabinet's bounds (by an operator) may stay while others change.
	legacy := cur
	legacy.PerMinute = 0
	next := legacy
	next.DailyCap = 100
	require.Empty(t, validateSettings(legacy, next))
}

func TestDecodeFailureNamesTheField(t *testing.T) {
	for _, c := range []struct{ body, field, want string }{
		{`{"per_minute": "6"}`, "per_minute", "Нужно целое число."},
		{`{"per_minute": 6.5}`, "per_minute", "Нужно целое число."},
		{`{"confirm_by_reply": 1}`, "confirm_by_reply", "Нужно «да» или «нет» (true или false)."},
		{`{"quiet_hours": {"from": 2100}}`, "quiet_hours.from", "Нужен текст."},
		{`{"templates": {"confirmation": 5}}`, "templates", "Нужен текст."},
		{`{"colour": "green"}`, "colour", errUnknownSet},
	} {
		var s CabinetSettings
		dec := json.NewDecoder(strings.NewReader(c.body))
		dec.DisallowUnknownFields()
		ae := decodeFailure(dec.Decode(&s))
		require.Equal(t, kindBadRequest, ae.kind)
		require.Equal(t, c.want, ae.fields[c.field], "%s: got %v", c.body, ae.fields)
	}
	ae := decodeFailure(json.Unmarshal([]byte(`{`), &CabinetSettings{}))
	require.Equal(t, "Настройки не сохранены: запрос не разобран.", ae.message)
}

func TestMaskPhone(t *testing.T) {
	for raw, want := range map[string]string{
		"79161234567":      "+7 916 •••-••-67",
		"+7 916 123-45-67": "+7 916 •••-••-67",
		"79990001122":      "+7 999 •••-••-22",
		"375291234567":     "+375 29 •••-••-67",
		"4915112345678":    "+49 1511 •••••78",
		"12":               "+12",
		"123456":           "+••••56",
		"":                 "",
	} {
		got := MaskPhone(raw)
		require.Equal(t, want, got, "MaskPhone(%q)", raw)
	}
}

func TestHumanTime(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Vladivostok")
	require.NoError(t, err)
	now := time.Date(2026, 12, 12, 0, 30, 0, 0, loc)
	for at, want := range map[time.Time]string{
		time.Date(2026, 12, 12, 14, 30, 0, 0, loc):     "сегодня, 14:30",
		time.Date(2026, 12, 11, 23, 59, 0, 0, loc):     "вчера, 23:59",
		time.Date(2026, 12, 13, 9, 5, 0, 0, loc):       "завтра, 09:05",
		time.Date(2026, 12, 20, 9, 5, 0, 0, loc):       "20.12, 09:05",
		time.Date(2025, 12, 31, 9, 5, 0, 0, loc):       "31.12.2025, 09:05",
		time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC): "сегодня, 01:00", // 01:00 on the 12th in Vladivostok
	} {
		require.Equal(t, want, humanTime(at, now, loc), "%v", at)
	}
}

func TestMinuteOfAndClockOf(t *testing.T) {
	for s, want := range map[string]int{"00:00": 0, "09:00": 540, "21:00": 1260, "23:59": 1439} {
		got, err := minuteOf(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
		require.Equal(t, s, clockOf(got))
	}
	for _, s := range []string{"", "9:00", "24:00", "12:60", "12-00", "1a:00", "+1:00", "12:000"} {
		_, err := minuteOf(s)
		require.Error(t, err, "%q", s)
	}
}

// Every starter reads, for a visit with every detail, as the standard text does (but for «в» in
// place of «на» before the time of a moved or cancelled visit): an owner who starts from it and
// saves it unchanged changes next to nothing their clients see.
func TestStartersReadAsTheStandardTexts(t *testing.T) {
	salon, v := texts.Sample(time.Date(2025, 12, 11, 10, 0, 0, 0, time.UTC))
	for _, k := range texts.Kinds() {
		starter, ok := starters[k.Kind]
		require.True(t, ok, "%s has a starter", k.Kind)
		require.NoError(t, texts.ValidateTemplate(starter), k.Kind)
		visit := v
		if k.Kind == texts.Change {
			visit.PreviousStart = visit.Start.AddDate(0, 0, -3) // the standard text shortens a same-day move
		}
		want, err := texts.Render(k.Kind, salon, visit, nil)
		require.NoError(t, err)
		if k.Kind == texts.Change || k.Kind == texts.Cancellation {
			// Templates have the visit's time only as «в пятницу, …, в 14:30»; the standard
			// texts say «на пятницу, …, на 14:30» here.
			when := texts.FormatWhen(visit.Start, salon.Location)
			on := "на " + strings.TrimPrefix(strings.Replace(when, ", в ", ", на ", 1), "в ")
			require.Contains(t, want, on)
			want = strings.Replace(want, on, when, 1)
		}
		got, err := texts.Render(k.Kind, salon, visit, texts.Overrides{k.Kind: starter})
		require.NoError(t, err)
		require.Equal(t, want, got, k.Kind)
		// Asked to confirm, the owner's text gets the question too (texts adds it after the text).
		visit.AskConfirm = true
		got, err = texts.Render(k.Kind, salon, visit, texts.Overrides{k.Kind: starter})
		require.NoError(t, err)
		require.Equal(t, k.ConfirmLine, strings.Contains(got, texts.ConfirmLine), "%s asked to confirm: got %q", k.Kind, got)
	}
	require.Len(t, starters, len(texts.Kinds()), "a starter for every editable kind, and no other")
}

func TestNewUUIDAndKey(t *testing.T) {
	seen := map[int64]bool{}
	for range 100 {
		id := newUUID()
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
		k := keyOf(id)
		require.Positive(t, k)
		require.Equal(t, k, keyOf(id), "the same request, the same key")
		require.False(t, seen[k], "a fresh key per request")
		seen[k] = true
	}
}

func TestSalonLimiter(t *testing.T) {
	l := newSalonLimiter(30 * time.Second)
	now := time.Now()
	ok, _ := l.allow(1, now)
	require.True(t, ok)
	ok, wait := l.allow(1, now.Add(10*time.Second))
	require.False(t, ok)
	require.Equal(t, 20*time.Second, wait)
	ok, _ = l.allow(2, now.Add(10*time.Second))
	require.True(t, ok, "per salon")
	ok, _ = l.allow(1, now.Add(30*time.Second))
	require.True(t, ok)
	l.forget(1)
	ok, _ = l.allow(1, now.Add(31*time.Second))
	require.True(t, ok, "forgotten")
}

// The cabinet's API refuses a request without a valid session token before asking Temporal
// anything (Temporal here is unreachable): 401 with the Russian message the page shows.
func TestCabinetAPIRefusesBadTokens(t *testing.T) {
	store, _ := dbtest.New(t)
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Pairing: noFeed{}, Cabinet: StoreCabinet{Store: store}})
	relinkToken := func() string {
		u, err := RelinkURL("http://x", testSecret, RelinkLink{SalonID: 42, InstallID: "install-1", Generation: 1}, time.Hour, time.Now())
		require.NoError(t, err)
		return u[strings.Index(u, "token=")+len("token="):]
	}()
	for name, header := range map[string]string{
		"none":            "",
		"not bearer":      "Basic " + issue(t, testSecret, time.Now(), 42),
		"garbage":         "Bearer not-a-token",
		"expired":         "Bearer " + issue(t, testSecret, time.Now().Add(-2*time.Hour), 42),
		"another key":     "Bearer " + issue(t, []byte("another-key"), time.Now(), 42),
		"a re-link token": "Bearer " + relinkToken,
	} {
		h := http.Header{}
		if header != "" {
			h.Set("Authorization", header)
		}
		status, hdr, body := get(t, srv.URL+"/cabinet/api/settings", h)
		require.Equal(t, http.StatusUnauthorized, status, "%s: got %s", name, body)
		require.Equal(t, `Bearer realm="aiadmin"`, hdr.Get("WWW-Authenticate"))
		var got map[string]string
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Equal(t, textSessionOver, got["message"], name)
		require.Equal(t, "no-store", hdr.Get("Cache-Control"))
	}
	// A valid token reaches Temporal, which cannot be asked: 503, told in Russian.
	h := http.Header{"Authorization": {"Bearer " + issue(t, testSecret, time.Now(), 42)}}
	status, _, body := get(t, srv.URL+"/cabinet/api/settings", h)
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.Contains(t, body, textNoServer)
}

// StoreCabinet reads the defaults for a salon that never saved settings, writes every
// setting and leaves blank texts out; the message log comes newest first.
func TestStoreCabinet(t *testing.T) {
	store, _ := dbtest.New(t)
	ctx := context.Background()
	const salon = int64(4242)
	sc := StoreCabinet{Store: store}
	_, _, err := sc.Settings(ctx, salon)
	require.ErrorIs(t, err, ErrUnknownSalon)
	_, err = store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: salon, Title: "Бархат", Timezone: "Europe/Moscow"})
	require.NoError(t, err)
	profile, got, err := sc.Settings(ctx, salon)
	require.NoError(t, err)
	require.Equal(t, "Бархат", profile.Title)
	require.Equal(t, defaultSettings(), got)

	want := got
	want.SendChange, want.ReminderHoursBefore, want.ReviewURL, want.DeclineCancels = false, 5, "https://2gis.ru/firm/1", true
	want.QuietHours = QuietWindow{From: "22:15", To: "07:45"}
	want.Templates = map[string]string{"confirmation": "Ждём вас {{.When}}", "change": "  "}
	require.NoError(t, sc.SaveSettings(ctx, salon, want))
	_, got, err = sc.Settings(ctx, salon)
	require.NoError(t, err)
	want.Templates = map[string]string{"confirmation": "Ждём вас {{.When}}"}
	require.Equal(t, want, got)

	for i, kind := range []string{"welcome", "confirmation", "reminder_day"} {
		_, err := store.InsertMessage(ctx, sqlc.InsertMessageParams{SalonID: salon, RecordID: int64(i), Kind: kind,
			VisitTime: time.Unix(0, 0).UTC(), Phone: "79161234567", WAMessageID: kind})
		require.NoError(t, err)
	}
	rows, err := sc.Messages(ctx, salon, 2)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "reminder_day", rows[0].Kind, "newest first")
	require.Equal(t, "confirmation", rows[1].Kind)
	require.True(t, rows[0].VisitTime.IsZero(), "no visit")
	require.Equal(t, "queued", rows[0].Status)
}
