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
	maxURLLen      = 300
)

var (
	// weekdays in the accusative, after «в» or «на»: «в пятницу», «на среду» (time.Weekday order).
	weekdaysAcc = [...]string{"воскресенье", "понедельник", "вторник", "среду", "четверг", "пятницу", "субботу"}
	// weekdays in the nominative, for a date on its own: «пятница, 12 декабря».
	weekdaysNom = [...]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
	// months in the genitive: «12 декабря».
	months = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
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
// administrator writes it: «в пятницу, 12 декабря, в 14:30», «во вторник, 5 мая, в 09:05».
// A zero t gives "".
func FormatWhen(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return at("в", t.In(locOrDefault(loc)))
}

// at gives «в пятницу, 12 декабря, в 14:30» (prep "в") or «на пятницу, 12 декабря, на 14:30»
// (prep "на") for a time already in the salon's zone.
func at(prep string, t time.Time) string {
	day := prep
	if prep == "в" && t.Weekday() == time.Tuesday {
		day = "во" // «во вторник»
	}
	return day + " " + weekdaysAcc[t.Weekday()] + ", " + dayMonth(t) + ", " + prep + " " + formatClock(t)
}

// formatDate gives «пятница, 12 декабря» for a time already in the salon's zone.
func formatDate(t time.Time) string {
	return weekdaysNom[t.Weekday()] + ", " + dayMonth(t)
}

// dayMonth gives «12 декабря».
func dayMonth(t time.Time) string {
	return strconv.Itoa(t.Day()) + " " + months[t.Month()-1]
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

// Plural picks the Russian form for n: Plural(3, "минуту", "минуты", "минут") is «минуты».
func Plural(n int, one, few, many string) string { return plural(n, one, few, many) }

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

// cleanURL keeps a link as the owner set it, without stray spaces or a full stop after it. A
// value that cannot be a link (spaces inside, no dot, too long to be real) counts as missing:
// a cut link would lead nowhere.
func cleanURL(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".,;")
	if !strings.Contains(s, ".") || strings.ContainsFunc(s, unicode.IsSpace) || utf8.RuneCountInString(s) > maxURLLen {
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
