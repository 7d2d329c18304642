package texts

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field length caps, in runes. They keep every default message well under MaxMessageLen
// whatever YClients sends us.
const (
	maxNameLen     = 60
	maxStaffLen    = 60
	maxSalonLen    = 80
	maxAddressLen  = 150
	maxPhoneLen    = 40
	maxServiceLen  = 80
	maxServicesLen = 200
)

var (
	weekdays = [...]string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"} // time.Weekday order
	months   = [...]string{"янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}
)

// moscow is the default salon zone. Moscow has been UTC+3 all year since 2014, so a fixed zone
// is an exact fallback on a host without tzdata.
var moscow = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
})

func locOrDefault(loc *time.Location) *time.Location {
	if loc == nil {
		return moscow()
	}
	return loc
}

// FormatWhen renders t in the salon's zone (nil = Europe/Moscow) the way a Russian
// administrator writes it: «пт, 12 дек в 14:30», «пн, 5 мая в 09:05». A zero t gives "".
func FormatWhen(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(locOrDefault(loc))
	return formatDate(t) + " в " + formatClock(t)
}

// formatDate gives «пт, 12 дек» for a time already in the salon's zone.
func formatDate(t time.Time) string {
	return weekdays[t.Weekday()] + ", " + strconv.Itoa(t.Day()) + " " + months[t.Month()-1]
}

// formatClock gives «09:05» for a time already in the salon's zone.
func formatClock(t time.Time) string {
	return t.Format("15:04")
}

// relativeDay says «сегодня» or «завтра» when start falls on now's calendar day or the next
// one in loc, and "" otherwise or when now is zero. Calendar days, not 24-hour spans: a
// reminder computed by duration maths is how peers ended up saying «завтра» two days early.
func relativeDay(now, start time.Time, loc *time.Location) string {
	if now.IsZero() || start.IsZero() {
		return ""
	}
	ny, nm, nd := now.In(loc).Date()
	sy, sm, sd := start.In(loc).Date()
	if sy == ny && sm == nm && sd == nd {
		return "сегодня"
	}
	// Noon UTC keeps the +1 day away from any DST edge; only the date is compared.
	ty, tm, td := time.Date(ny, nm, nd+1, 12, 0, 0, 0, time.UTC).Date()
	if sy == ty && sm == tm && sd == td {
		return "завтра"
	}
	return ""
}

// joinServices joins titles the way people write a list: «А», «А и Б», «А, Б и В». Titles are
// kept as given (only cleaned); a very long list ends with «и ещё N услуг».
func joinServices(titles []string) string {
	var items []string
	for _, t := range titles {
		if t = truncate(clean(t), maxServiceLen); t != "" {
			items = append(items, t)
		}
	}
	// Keep as many titles as fit, leaving room for the «и ещё N услуг» tail.
	kept := len(items)
	for kept > 1 && utf8.RuneCountInString(strings.Join(items[:kept], ", ")) > maxServicesLen {
		kept--
	}
	if kept < len(items) {
		rest := len(items) - kept
		return strings.Join(items[:kept], ", ") + " и ещё " + strconv.Itoa(rest) + " " + plural(rest, "услуга", "услуги", "услуг")
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " и " + items[len(items)-1]
}

// plural picks the Russian form for n: 1 услуга, 2 услуги, 5 услуг, 21 услуга, 11 услуг.
func plural(n int, one, few, many string) string {
	n %= 100
	if n >= 11 && n <= 14 {
		return many
	}
	switch n % 10 {
	case 1:
		return one
	case 2, 3, 4:
		return few
	}
	return many
}

// clean collapses all whitespace (newlines, tabs, NBSP) to single spaces and drops the
// punctuation that would dangle next to ours: «Анна.» → «Анна», «ул. Ленина, 5,» → «ул. Ленина, 5».
// A value with no letter or digit at all («-», «"»", «.») is treated as missing.
func clean(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Trim(s, " ,;:.")
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
		return ""
	}
	return s
}

// truncate cuts s to at most n runes, ending with «…» when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ,;:.") + "…"
}

// capitalize upper-cases the first letter: a name opens the greeting («анна» → «Анна»).
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

// quotePairs are the quotes owners put around a salon name; we add our own «».
var quotePairs = [][2]string{{"«", "»"}, {`"`, `"`}, {"“", "”"}, {"„", "“"}, {"'", "'"}}

// salonName cleans a salon name and drops the quotes around it, so «в салоне «Бархат»» never
// doubles them and a name of only quotes becomes "".
func salonName(s string) string {
	s = clean(s)
	for changed := true; changed; {
		changed = false
		for _, q := range quotePairs {
			if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
				s = clean(s[len(q[0]) : len(s)-len(q[1])])
				changed = true
			}
		}
	}
	// An unbalanced quote («Бархат) would break ours: drop that kind of quote altogether.
	if strings.Count(s, "«") != strings.Count(s, "»") {
		s = strings.NewReplacer("«", "", "»", "").Replace(s)
	}
	if strings.Count(s, `"`)%2 != 0 {
		s = strings.ReplaceAll(s, `"`, "")
	}
	// Quotes inside the name (Салон красоты "Бархат") become the inner Russian quotes „…“, as
	// typography wants them inside our «…».
	for strings.Count(s, `"`) >= 2 {
		s = strings.Replace(s, `"`, "„", 1)
		s = strings.Replace(s, `"`, "“", 1)
	}
	return truncate(clean(s), maxSalonLen)
}
