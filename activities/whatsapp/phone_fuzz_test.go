package whatsapp

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// phoneSpellings are phone numbers as salon owners, clients and YClients write them, and the
// near misses the unit tests refuse.
var phoneSpellings = []string{
	"8 (999) 000-11-22", "89990001122", "+7 999 000 11 22", "+7-999-000-11-22", "79990001122", "9990001122",
	"999 000 11 22", "8 (495) 123-45-67", "  +7 (999) 000-11-22 ", "8\u00a0999\u00a0000\u00a01122", "+7 (916) 123 45 67",
	"+49 151 12345678", "4915112345678", "+44 7911 123456", "+7 701 123 4567", "+33 6 12 34 56 78",
	"+1 (212) 555-0123", "12125550123", "+84 912 345 678", "+49 30 123456", "+683 4002", "+800 1234 5678",
	"810 49 151 12345678", "70001234567", "+79686484488",
	"", "   ", "hello", "8-800-FLOWERS", "call 89990001122", "12345", "8 999 00", "8 999 000 11 22 33 44",
	"8 (099) 000-11-22", "+999 123 456 789", "+()-", "++79990001122", "+7 999 000 11 22 доб. 5",
}

// FuzzNormalizePhone: a phone is either refused with ErrInvalidPhone (without repeating it) or
// becomes E.164 digits that NormalizePhone and DisplayPhone keep as they are. The shortest valid
// numbers have 7 digits (Niue: +683 4002), the longest E.164 allows 15.
//
// NormalizePhone of its own output gives the output back, except where the digits are also a
// Russian number written without its country code (10 digits, or 8 and 10 digits): bare digits
// are read as Russian first, because that is how owners write them. "+49 30 123456" gives
// "4930123456", which also reads as the Ivanovo number 8 (4930) 12-34-56; only the output with a
// '+' in front is unambiguous, and that is checked for every number.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range phoneSpellings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizePhone(raw)
		display, derr := DisplayPhone(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidPhone)
			require.Empty(t, out, "refused, yet got %q", out)
			require.Error(t, derr, "DisplayPhone accepts %q, which NormalizePhone refuses", raw)
			if d := digitsOf(raw); len(d) >= 5 {
				require.NotContains(t, err.Error(), d, "the error repeats the number")
			}
			return
		}
		require.Regexp(t, `^[0-9]{7,15}$`, out, "from %q", raw)
		again, err := NormalizePhone("+" + out)
		require.NoError(t, err, "+%s (from %q) is refused", out, raw)
		require.Equal(t, out, again, "+%s (from %q)", out, raw)

		again, err = NormalizePhone(out)
		require.NoError(t, err, "%s (from %q) is refused", out, raw)
		if again != out {
			national := out
			if len(out) == 11 && out[0] == '8' {
				national = out[1:]
			}
			require.Len(t, national, 10, "%s (from %q) changes to %s, and it is no Russian national number", out, raw, again)
			require.Equal(t, "7"+national, again, "%s (from %q) changes to %s", out, raw, again)
		}

		require.NoError(t, derr, "DisplayPhone refuses %q, which NormalizePhone accepts", raw)
		fromDisplay, err := NormalizePhone(display)
		require.NoError(t, err, "DisplayPhone's %q (from %q) is refused", display, raw)
		require.Equal(t, out, fromDisplay, "DisplayPhone's %q (from %q)", display, raw)
	})
}

// FuzzRedactPhones: masking is idempotent, never makes the text longer (in characters) and
// keeps it valid UTF-8. A phone WhatsApp messages (11 to 15 digits: NormalizePhone's output)
// written as bare digits, whatever surrounds it, does not survive as a number of its own.
// Shorter numbers are not masked on purpose: 10-digit runs are YClients record IDs.
func FuzzRedactPhones(f *testing.F) {
	texts := []string{
		"send to 79161234567@s.whatsapp.net: 463", "device 79161234567:12@s.whatsapp.net gone",
		"client +7 916 123-45-67 opted out", "salon 100001, record 1213340001, error 463", "lid 123456789012345@lid",
		"2026-12-02T19:31:12Z took 1500ms", "at 2026-12-02T20:26:27.746193300Z", "no phone here", "",
		"•••67@s.whatsapp.net", "salon 100001 79161234567", "1213340001 1213340002", "8 916 123 45 67 8 916 123 45 68",
	}
	for i, s := range texts {
		f.Add(s, phoneSpellings[i%len(phoneSpellings)])
	}
	f.Fuzz(func(t *testing.T, text, phone string) {
		out := RedactPhones(text)
		require.Equal(t, out, RedactPhones(out), "masking %q twice changes it", text)
		require.LessOrEqual(t, utf8.RuneCountInString(out), utf8.RuneCountInString(text), "%q became %q", text, out)
		if utf8.ValidString(text) {
			require.True(t, utf8.ValidString(out), "%q became invalid UTF-8 %q", text, out)
		}

		p, err := NormalizePhone(phone)
		if err != nil || len(p) < 11 {
			return
		}
		in := text + " " + p + " " + text
		masked := RedactPhones(in)
		standalone := regexp.MustCompile(`(^|[^0-9])` + p + `([^0-9]|$)`)
		require.False(t, standalone.MatchString(masked), "the phone %s survives in %q", p, masked)
	})
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
