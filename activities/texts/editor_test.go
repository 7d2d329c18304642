package texts

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKinds(t *testing.T) {
	kinds := Kinds()
	var listed []Kind
	for _, k := range kinds {
		listed = append(listed, k.Kind)
		require.NotEmpty(t, k.Title, k.Kind)
		require.NotEmpty(t, k.Sent, k.Kind)
		require.True(t, Editable(k.Kind))
		require.Equal(t, k.Kind.asksConfirmation(), k.ConfirmLine, "%s: the editor is told about the line Render adds", k.Kind)
		_, ok := defaults[k.Kind]
		require.True(t, ok, "%s has a default text to start from", k.Kind)
	}
	// Every client kind is editable except the «стоп»/«старт» answers; the owner's welcome is not.
	want := []Kind{Confirmation, Change, Cancellation, ReminderDay, Reminder2h, ClientWelcome, ConfirmThanks, DeclineAck, ReviewRequest, ReviewThanks, ReviewSorry}
	require.Equal(t, want, listed)
	for k := range defaults {
		require.Equal(t, k != OptOutAck && k != StartAck && k != Welcome, Editable(k), "%s", k)
	}
	kinds[0].Title = "changed"
	require.Equal(t, "Подтверждение записи", Kinds()[0].Title, "Kinds returns a copy")
}

func TestPlaceholders(t *testing.T) {
	require.Len(t, fieldDescriptions, len(dataFields), "every field of Data is described")
	for f := range dataFields {
		require.NotEmpty(t, fieldDescriptions[f], f)
	}
	salon, v := Sample(time.Date(2025, 12, 11, 10, 0, 0, 0, time.UTC))
	for _, info := range Kinds() {
		t.Run(string(info.Kind), func(t *testing.T) {
			ps := Placeholders(info.Kind)
			require.NotEmpty(t, ps)
			var names []string
			for _, p := range ps {
				require.True(t, strings.HasPrefix(p.Name, "{{.") && strings.HasSuffix(p.Name, "}}"), p.Name)
				require.NotEmpty(t, p.Description, p.Name)
				names = append(names, p.Name)
			}
			require.Contains(t, names, "{{.ClientName}}")
			// A template of every placeholder is valid and, for the sample, fills each one in.
			tmpl := strings.Join(names, "\n")
			require.NoError(t, ValidateTemplate(tmpl))
			got, err := Render(info.Kind, salon, v, Overrides{info.Kind: tmpl})
			require.NoError(t, err)
			require.Len(t, strings.Split(got, "\n"), len(names), "no placeholder is empty in the sample:\n%s", got)
		})
	}
	require.Contains(t, names(Placeholders(Change)), "{{.PrevWhen}}")
	require.Contains(t, names(Placeholders(ReminderDay)), "{{.Day}}")
	require.Contains(t, names(Placeholders(ReviewThanks)), "{{.ReviewURL}}")
	require.NotContains(t, names(Placeholders(Confirmation)), "{{.PrevWhen}}")
	for _, k := range []Kind{OptOutAck, StartAck, Welcome, "birthday"} {
		require.Nil(t, Placeholders(k), k)
	}
}

func names(ps []Placeholder) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestSample(t *testing.T) {
	msk := mustLoad(t, "Europe/Moscow")
	// 22:30 UTC is already the next day in Moscow: the sample visit is the day after that.
	for now, wantStart := range map[time.Time]time.Time{
		time.Date(2025, 12, 11, 10, 0, 0, 0, time.UTC):  time.Date(2025, 12, 12, 14, 30, 0, 0, msk),
		time.Date(2025, 12, 11, 22, 30, 0, 0, time.UTC): time.Date(2025, 12, 13, 14, 30, 0, 0, msk),
		time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC):  time.Date(2026, 1, 1, 14, 30, 0, 0, msk),
	} {
		salon, v := Sample(now)
		require.True(t, wantStart.Equal(v.Start), "Sample(%s).Start = %s, want %s", now, v.Start, wantStart)
		require.Equal(t, now, v.Now)
		for _, info := range Kinds() {
			got, err := Render(info.Kind, salon, v, nil)
			require.NoError(t, err)
			requireTidyf(t, got, string(info.Kind))
			if info.Kind == ReminderDay {
				require.Contains(t, got, "Напоминаем: завтра, в ", "the preview reads as sent the day before")
			}
			if info.Kind == Change {
				require.Contains(t, got, "перенесена", "the preview shows a reschedule")
			}
		}
	}
}
