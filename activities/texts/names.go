package texts

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Salon names come as owners type them in YClients: Бархат, «Бархат», "Бархат", Салон красоты
// "Бархат", Салон «Бархат» 760002. From one canonical spelling, in which every quoted part is
// «…», come two forms:
//   - salonName, to put inside quotes: Салон красоты „Бархат“ (Data.SalonName, SalonName);
//   - salonTail, what our texts write after the word «салон»: « «Бархат»», « красоты «Бархат»»,
//     so a name with its own quotes is never wrapped in ours again.

var (
	lowQuotes      = regexp.MustCompile(`„([^„“”]*)[“”]`) // „Бархат“ (closed by “, or ” by mistake)
	curlyQuotes    = regexp.MustCompile(`“([^„“”]*)”`)    // “Бархат”
	straightQuotes = regexp.MustCompile(`"([^"]*)"`)      // "Бархат"
	strayQuotes    = strings.NewReplacer(`"`, "", "“", "", "”", "", "„", "")
	noGuillemets   = strings.NewReplacer("«", "", "»", "")
	innerQuotes    = strings.NewReplacer("«", "„", "»", "“")
)

// canonicalSalon cleans a name, makes every quoted part «…», drops quotes without a pair and
// the quotes around the whole name. A name of only quotes becomes "".
func canonicalSalon(s string) string {
	s = clean(s)
	s = lowQuotes.ReplaceAllString(s, "«$1»")
	s = curlyQuotes.ReplaceAllString(s, "«$1»")
	s = straightQuotes.ReplaceAllString(s, "«$1»")
	s = strayQuotes.Replace(s)
	if !balanced(s) { // «Бархат: no pair to trust, drop them all
		s = noGuillemets.Replace(s)
	}
	for {
		switch {
		case strings.HasPrefix(s, "«") && strings.HasSuffix(s, "»") && balanced(s[len("«"):len(s)-len("»")]):
			s = clean(s[len("«") : len(s)-len("»")])
		case len(s) > 2 && strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'"):
			s = clean(s[1 : len(s)-1])
		default:
			return clean(s)
		}
	}
}

// balanced reports whether every « in s is closed by a later ».
func balanced(s string) bool {
	depth := 0
	for _, r := range s {
		switch r {
		case '«':
			depth++
		case '»':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// salonName gives the name to put inside «…»: outer quotes dropped, inner ones made „…“.
func salonName(s string) string {
	c := canonicalSalon(s)
	if utf8.RuneCountInString(c) > maxSalonLen { // a cut could leave a quote open
		c = noGuillemets.Replace(c)
	}
	return truncate(innerQuotes.Replace(c), maxSalonLen)
}

// salonTail gives what follows «салон» (in any case: салон, салоне, салона) in our texts, with
// a leading space: « «Бархат»» for a plain name. A name with its own «…» part keeps its quotes
// and loses a leading generic word: «Салон красоты "Бархат"» gives « красоты «Бархат»» (read
// «в салоне красоты «Бархат»»), «Студия "Приморье"» gives « «Приморье»». "" for no name.
func salonTail(s string) string {
	c := canonicalSalon(s)
	i := strings.Index(c, "«")
	switch {
	case c == "":
		return ""
	case i < 0 || utf8.RuneCountInString(c) > maxSalonLen:
		return " «" + salonName(s) + "»"
	}
	words, quoted := strings.Fields(c[:i]), c[i:]
	quoted = nestQuotes(quoted)
	if len(words) > 0 && strings.EqualFold(words[0], "салон") {
		return " " + strings.Join(append(words[1:], quoted), " ")
	}
	return " " + quoted
}

// nestQuotes makes quotes inside quotes „…“: «Бархат «Люкс»» gives «Бархат „Люкс“».
func nestQuotes(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '«':
			if depth++; depth > 1 {
				r = '„'
			}
		case r == '»':
			if depth--; depth > 0 {
				r = '“'
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
