package whatsapp

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizePhone(t *testing.T) {
	valid := []struct {
		name, raw, want string
	}{
		{"ru 8 with brackets", "8 (999) 000-11-22", "79990001122"},
		{"ru 8 plain", "89990001122", "79990001122"},
		{"ru +7 spaced", "+7 999 000 11 22", "79990001122"},
		{"ru +7 dashed", "+7-999-000-11-22", "79990001122"},
		{"ru 7 without plus", "79990001122", "79990001122"},
		{"ru ten digits", "9990001122", "79990001122"},
		{"ru ten digits spaced", "999 000 11 22", "79990001122"},
		{"ru moscow landline", "8 (495) 123-45-67", "74951234567"},
		{"ru surrounding spaces", "  +7 (999) 000-11-22 ", "79990001122"},
		{"de mobile", "+49 151 12345678", "4915112345678"},
		{"uk mobile", "+44 7911 123456", "447911123456"},
		{"kz mobile", "+7 701 123 4567", "77011234567"},
		{"fr mobile", "+33 6 12 34 56 78", "33612345678"},
		// Bare digits that are no Russian number are E.164 without the '+': this function's
		// own output and how YClients stores foreign clients' phones.
		{"de digits", "4915112345678", "4915112345678"},
		{"us digits", "12125550123", "12125550123"},
		{"uk digits", "447911123456", "447911123456"},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePhone(tc.raw)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "got %q, want %q", got, tc.want)
			// Found by FuzzNormalizePhone: a foreign number's digits were refused when normalised
			// again (as the WhatsApp adapters do with what the messaging activity hands them).
			again, err := NormalizePhone(got)
			require.NoError(t, err, "normalising %q again", got)
			require.Equal(t, got, again, "normalising %q again", got)
		})
	}

	invalid := []struct {
		name, raw string
	}{
		{"empty", ""},
		{"spaces", "   "},
		{"letters", "hello"},
		{"vanity letters", "8-800-FLOWERS"},
		{"free text", "call 89990001122"},
		{"too short", "12345"},
		{"too short ru", "8 999 00"},
		{"too long", "8 999 000 11 22 33 44"},
		{"invalid ru prefix", "8 (099) 000-11-22"},
		{"bad country code", "+999 123 456 789"},
		{"only punctuation", "+()-"},
		// Found by FuzzNormalizePhone: phonenumbers takes some German numbers longer than E.164's 15 digits.
		{"16 digits", "4990700000000000"},
		{"17 digits", "+49 907 000000000000"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePhone(tc.raw)
			require.ErrorIs(t, err, ErrInvalidPhone, "got %q", got)
			require.Empty(t, got)
		})
	}
}

func TestRedactPhones(t *testing.T) {
	cases := map[string]string{
		"send to 79161234567@s.whatsapp.net: 463":    "send to •••67@s.whatsapp.net: 463",
		"device 79161234567:12@s.whatsapp.net gone":  "device •••67@s.whatsapp.net gone",
		"client +7 916 123-45-67 opted out":          "client •••67 opted out",
		"8 (916) 123-45-67":                          "•••67",
		"salon 100001, record 1213340001, error 463": "salon 100001, record 1213340001, error 463",
		"lid 123456789012345@lid":                    "lid •••45@lid",
		"2026-12-02T19:31:12Z took 1500ms":           "2026-12-02T19:31:12Z took 1500ms",
		"no phone here":                              "no phone here",
		"at 2026-12-02T20:26:27.746193300Z":          "at 2026-12-02T20:26:27.746193300Z",
		// Found by FuzzRedactPhones: a bare phone next to other numbers made a run too long to
		// be one number, and the phone was kept.
		"to 79990001122 2026-12-02T19:31:12Z": "to •••22T19:31:12Z",
		"salon 100001 79161234567 gone":       "salon •••67 gone",
		"records 1213340001 1213340002":       "records 1213340001 1213340002",
	}
	for in, want := range cases {
		require.Equal(t, want, RedactPhones(in), in)
		require.Equal(t, want, RedactPhones(want), "masking twice changes nothing: %s", in)
	}
}

func TestDisplayPhone(t *testing.T) {
	for raw, want := range map[string]string{
		"+7 495 123-45-67":  "+7 495 123-45-67",
		"8 (495) 123-45-67": "+7 495 123-45-67",
		"79990001122":       "+7 999 000-11-22",
		"+49 151 12345678":  "+49 1511 2345678", // as libphonenumber groups it
	} {
		got, err := DisplayPhone(raw)
		require.NoError(t, err, "raw %q", raw)
		require.Equal(t, want, got, "raw %q: got %q want %q", raw, got, want)
	}
	for _, raw := range []string{"", "12345", "call 89990001122", "+999 123 456 789"} {
		_, err := DisplayPhone(raw)
		require.ErrorIs(t, err, ErrInvalidPhone, "raw %q: got %v want an invalid phone", raw, err)
	}
}
