package whatsapp

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// defaultRegion is where numbers written without a country code are assumed to be: the salons
// are Russian, so "8 999 …" and "999 …" are Russian numbers.
const defaultRegion = "RU"

// phoneChars are the characters a written phone number may contain. Anything else is rejected
// before parsing, because phonenumbers would otherwise pick a number out of free text or turn
// letters into digits (vanity numbers).
const phoneChars = "0123456789+-() .\u00a0"

// NormalizePhone turns a phone number as people write it into E.164 digits without the '+',
// e.g. "8 (999) 000-11-22" → "79990001122", "+49 151 12345678" → "4915112345678". Numbers without
// a country code are taken as Russian; a bare run of digits that is no Russian number is read
// as E.164 digits without the '+' (this function's own output, and how YClients stores foreign
// clients' phones), so "4915112345678" stays "4915112345678". Anything that is not a valid
// number returns an error wrapping ErrInvalidPhone; the error text does not repeat the number
// (it is personal data).
func NormalizePhone(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(phoneChars, r) }); i >= 0 {
		return "", fmt.Errorf("%w: unexpected character at position %d", ErrInvalidPhone, i)
	}
	num, err := phonenumbers.Parse(s, defaultRegion)
	if (err != nil || !phonenumbers.IsValidNumber(num)) && isDigits(s) {
		if intl, ierr := phonenumbers.Parse("+"+s, defaultRegion); ierr == nil && phonenumbers.IsValidNumber(intl) {
			num, err = intl, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: not a valid number", ErrInvalidPhone)
	}
	digits := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	if len(digits) > maxE164Digits {
		// phonenumbers lets some German numbers run longer than E.164 allows.
		return "", fmt.Errorf("%w: more than %d digits", ErrInvalidPhone, maxE164Digits)
	}
	return digits, nil
}

// maxE164Digits is the most digits an international number has (ITU-T E.164).
const maxE164Digits = 15

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// phoneRun matches what may be a phone number in free text: 10 or more digits, possibly after
// a '+' and split by spaces, dashes or brackets (looksLikePhone decides); jidUser matches
// the user part of a WhatsApp JID ("79161234567:12@s.whatsapp.net").
var (
	phoneRun = regexp.MustCompile(`\+?\d(?:[\s()\-]{0,2}\d){9,}`)
	jidUser  = regexp.MustCompile(`\d{5,}(?::\d+)?@(s\.whatsapp\.net|c\.us|lid|g\.us)`)
)

// RedactPhones masks phone numbers and WhatsApp JIDs in text meant for logs, errors and
// workflow history, keeping the last two digits so operators can still tell clients apart:
// "send to 79161234567@s.whatsapp.net" → "send to •••67@s.whatsapp.net".
func RedactPhones(text string) string {
	text = jidUser.ReplaceAllStringFunc(text, func(m string) string {
		user, server, _ := strings.Cut(m, "@")
		user, _, _ = strings.Cut(user, ":")
		return "•••" + lastDigits(user) + "@" + server
	})
	return phoneRun.ReplaceAllStringFunc(text, func(m string) string {
		if looksLikePhone(m) {
			return "•••" + lastDigits(m)
		}
		// Too many digits for one number, but it may hold one written without separators next
		// to other numbers ("salon 100001 79161234567", a phone before a date): the whole run
		// is masked, so that masking again finds nothing left to join.
		for _, g := range strings.FieldsFunc(m, func(r rune) bool { return strings.ContainsRune(phoneSeparators, r) }) {
			if looksLikePhone(g) {
				return "•••" + lastDigits(g)
			}
		}
		return m
	})
}

// phoneSeparators are the characters phoneRun allows between digits (\s is ASCII whitespace).
const phoneSeparators = "\t\n\f\r ()-"

// looksLikePhone tells a phone number (11 to 15 digits, or a Russian mobile's 10 digits
// starting with 9) from the IDs that share its length (YClients record IDs: 10 digits).
func looksLikePhone(m string) bool {
	n, first := 0, byte(0)
	for i := 0; i < len(m); i++ {
		if m[i] >= '0' && m[i] <= '9' {
			if n == 0 {
				first = m[i]
			}
			n++
		}
	}
	return (n >= 11 && n <= 15) || (n == 10 && (first == '9' || strings.HasPrefix(m, "+")))
}

func lastDigits(s string) string {
	var d []byte
	for i := len(s) - 1; i >= 0 && len(d) < 2; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			d = append([]byte{s[i]}, d...)
		}
	}
	return string(d)
}

// DisplayPhone is NormalizePhone's number written for people, in the international format:
// "8 (495) 123-45-67" → "+7 495 123-45-67". It accepts exactly what NormalizePhone accepts.
func DisplayPhone(raw string) (string, error) {
	digits, err := NormalizePhone(raw)
	if err != nil {
		return "", err
	}
	num, err := phonenumbers.Parse("+"+digits, defaultRegion)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL), nil
}
