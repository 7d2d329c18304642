package texts

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestRenderEveryCombination renders every client kind with every optional field present or
// missing (missing as "" and as junk that must count as missing), with and without a clock,
// a previous time and a confirmation asked, and checks the text reads cleanly and says what
// applies.
func TestRenderEveryCombination(t *testing.T) {
	salon, full := fixture(t)
	serviceSets := [][]string{nil, {"Стрижка"}, {"Стрижка", "Укладка"}, {"Маникюр", "Педикюр", "Брови", "Ресницы"}}
	missingAs := map[string]string{"empty": "", "junk": " \n-\t "}
	const bits = 9
	count := 0
	for missingName, missing := range missingAs {
		for mask := range 1 << bits {
			has := func(bit int) bool { return mask&(1<<bit) != 0 }
			pick := func(bit int, value string) string {
				if has(bit) {
					return value
				}
				return missing
			}
			for si, services := range serviceSets {
				s := Salon{Location: salon.Location, Name: pick(0, salon.Name), Address: pick(1, salon.Address),
					Phone: pick(2, salon.Phone), ReviewURL: pick(7, salon.ReviewURL)}
				if !has(0) && missingName == "junk" {
					s.Name = "«»"
				}
				v := Visit{Start: full.Start, ClientName: pick(3, full.ClientName), StaffName: pick(4, full.StaffName),
					Services: services, AskConfirm: has(8)}
				if missingName == "junk" && len(services) > 0 {
					v.Services = append([]string{missing}, services...)
				}
				if has(5) {
					v.PreviousStart = full.PreviousStart
				}
				if has(6) {
					v.Now = full.Now
				}
				for _, k := range clientKinds {
					name := fmt.Sprintf("%s/%s/mask=%09b/services=%d", k, missingName, mask, si)
					got, err := Render(k, s, v, nil)
					require.NoError(t, err, name)
					requireTidyf(t, got, name)
					requireSays(t, k, s, v, got, name)
					count++
				}
			}
		}
	}
	require.Equal(t, 2*(1<<bits)*4*len(clientKinds), count)
}

// traits is what a client kind says, for requireSays.
type traits struct {
	greets, thanks bool // opens with «Анна, здравствуйте!» / «Анна, спасибо»
	names          bool // names the salon
	visit          bool // says the visit's services and staff
	address, phone bool
	stop           bool // ends with the «стоп» line
}

var kindTraits = map[Kind]traits{
	Confirmation:  {greets: true, names: true, visit: true, address: true, phone: true, stop: true},
	Change:        {greets: true, names: true, visit: true, address: true, phone: true},
	Cancellation:  {greets: true, names: true, visit: true, phone: true},
	ReminderDay:   {greets: true, names: true, visit: true, address: true, phone: true, stop: true},
	Reminder2h:    {greets: true, names: true, visit: true, address: true, phone: true, stop: true},
	OptOutAck:     {names: true},
	StartAck:      {names: true, stop: true},
	ClientWelcome: {greets: true, names: true, address: true, phone: true, stop: true},
	ConfirmThanks: {thanks: true},
	DeclineAck:    {thanks: true, phone: true},
	ReviewRequest: {greets: true, names: true, stop: true},
	ReviewThanks:  {thanks: true},
	ReviewSorry:   {thanks: true, phone: true},
}

// wantWhen is how the message must give the fixture's visit time ("" = not at all).
func wantWhen(k Kind, v Visit) string {
	tomorrow := !v.Now.IsZero()
	switch {
	case k == Confirmation:
		return "Вы записаны в салон «Бархат» в пятницу, 12 декабря, в 14:30"
	case k == Change && !v.PreviousStart.IsZero():
		return "перенесена на пятницу, 12 декабря, на 14:30"
	case k == Change:
		return "Время не изменилось — ждём вас в пятницу, 12 декабря, в 14:30."
	case k == Cancellation:
		return "на пятницу, 12 декабря, на 14:30"
	case k == ReminderDay && tomorrow:
		return "Напоминаем: завтра, в пятницу, 12 декабря, в 14:30 ждём вас"
	case k == Reminder2h && tomorrow:
		return "Напоминаем: завтра в 14:30 ждём вас"
	case k == ReminderDay || k == Reminder2h:
		return "Напоминаем: в пятницу, 12 декабря, в 14:30 ждём вас"
	case k == ConfirmThanks && tomorrow:
		return "Ждём вас завтра в 14:30."
	case k == ConfirmThanks:
		return "Ждём вас в пятницу, 12 декабря, в 14:30."
	}
	return ""
}

// requireSays checks that a message says what applies to its kind, and nothing invented. It
// runs for every combination, so it checks with plain conditions and reports only failures.
func requireSays(t *testing.T, k Kind, s Salon, v Visit, got, name string) {
	tr, ok := kindTraits[k]
	has := func(sub string) bool { return strings.Contains(got, sub) }
	is := func(what string, want, have bool) {
		if want != have {
			t.Helper()
			t.Fatalf("%s: want %v, got %v in %s:\n%s", what, want, have, name, got)
		}
	}
	is("kind has traits", true, ok)
	anna := clean(v.ClientName) != ""
	is("greeting", tr.greets, strings.HasPrefix(got, pick(anna, "Анна, здравствуйте!\n", "Здравствуйте!\n")))
	is("thanks", tr.thanks, strings.HasPrefix(got, pick(anna, "Анна, спасибо", "Спасибо")))
	is("salon name", tr.names && salonName(s.Name) != "", has("«Бархат»"))
	if when := wantWhen(k, v); when != "" {
		noSalon := func(x string) string { return strings.ReplaceAll(x, " в салон «Бархат»", "") }
		is("time "+when, true, strings.Contains(noSalon(got), noSalon(when)))
	} else {
		is("no date", false, has("декабря"))
	}
	is("staff", tr.visit && clean(v.StaffName) != "", has("мастер Оксана"))
	is("services", tr.visit && len(v.Services) > 0, has("Стрижка") || has("Маникюр"))
	is("all services", tr.visit && len(v.Services) >= 4, has("Маникюр, Педикюр, Брови и Ресницы"))
	is("address", tr.address && clean(s.Address) != "", has("Адрес: ул. Тверская, 12"))
	is("phone", tr.phone && clean(s.Phone) != "", has("+7 495 123-45-67"))
	is("стоп line last", tr.stop, strings.HasSuffix(got, "\n"+unsubscribeLine))
	is("старт line last", k == OptOutAck, strings.HasSuffix(got, "\n"+resumeLine))
	is("review link", k == ReviewThanks && cleanURL(s.ReviewURL) != "", has("отзыв: https://yandex.ru/maps/org/1234/reviews\n"))
	asked := v.AskConfirm && (k == Confirmation || k == ReminderDay)
	is("confirm line", asked, has(ConfirmLine))
	is("confirm line before the стоп line", asked, strings.HasSuffix(got, "\n"+ConfirmLine+"\n"+unsubscribeLine))
	is("previous time", k == Change && !v.PreviousStart.IsZero(), has("\nРаньше она была во вторник, 9 декабря, в 12:00.\n"))
	is("time unchanged", k == Change && v.PreviousStart.IsZero(), has("Время не изменилось"))
	is("old wording", false, has("время прежнее"))
	says := k == ReminderDay || k == Reminder2h || k == ConfirmThanks
	is("завтра", says && !v.Now.IsZero(), has("завтра"))
	is("short", true, utf8.RuneCountInString(got) <= 400)
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

func TestRenderLongInputsStayShort(t *testing.T) {
	long := strings.Repeat("Очень длинное название ", 40)
	var services []string
	for range 50 {
		services = append(services, long)
	}
	_, full := fixture(t)
	s := Salon{Name: long, Address: long, Phone: long}
	v := Visit{ClientName: long, Start: full.Start, Services: services, StaffName: long, PreviousStart: full.PreviousStart, Now: full.Now}
	for _, k := range clientKinds {
		got, err := Render(k, s, v, nil)
		require.NoError(t, err)
		requireTidyf(t, got, string(k))
		require.Less(t, utf8.RuneCountInString(got), 900, "%s is %d runes:\n%s", k, utf8.RuneCountInString(got), got)
	}
}

func requireTidy(t *testing.T, s string) {
	t.Helper()
	requireTidyf(t, s, "")
}

// requireTidyf fails on the marks of a text glued from missing fields.
func requireTidyf(t *testing.T, s, name string) {
	msg := func() string { return fmt.Sprintf("%s:\n%s", name, s) }
	if s == "" || strings.TrimSpace(s) != s {
		t.Fatalf("leading or trailing whitespace: %s", msg())
	}
	for _, bad := range []string{
		"  ", "\t", "\n\n", "«»", "« ", " »", " ,", " .", " :", " !", " )", "( ", "()",
		",.", ".,", "..", ",,", ":.", ": .", ", .", ",:", "::",
		"мастер .", "мастер,", "мастер\n", "мастер )", "мастер)",
		" на .", " на\n", " с на ", "салоне .", "салон .", "салон «»",
		"««", "»»", `"`, " в в ", " во в ", " в во ", " на на ", " на в ", " в на ", "салон Салон", "салоне Салон",
		"<no value>", "%!", "….",
	} {
		if strings.Contains(s, bad) { // not require.NotContains: this runs for every combination
			t.Fatalf("found %q in %s", bad, msg())
		}
	}
	if strings.HasPrefix(s, ", ") || strings.HasSuffix(s, "мастер") {
		t.Fatalf("glued from missing fields: %s", msg())
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) != line || line == "" {
			t.Fatalf("line %q in %s", line, msg())
		}
		if strings.HasSuffix(line, ":") || strings.HasSuffix(line, ",") || strings.HasSuffix(line, "—") {
			t.Fatalf("dangling punctuation in %q: %s", line, msg())
		}
	}
	if countEmoji(s) > 1 || utf8.RuneCountInString(s) > MaxMessageLen {
		t.Fatalf("too many emoji or too long: %s", msg())
	}
}

func countEmoji(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1F300 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF {
			n++
		}
	}
	return n
}

// errorsIsBad is a readability helper for the override tests.
func errorsIsBad(err error) bool { return errors.Is(err, ErrBadOverride) }
