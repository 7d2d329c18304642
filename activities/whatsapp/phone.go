package whatsapp

import (
	"fmt"
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
// a country code are taken as Russian. Anything that is not a valid number returns an error
// wrapping ErrInvalidPhone; the error text does not repeat the number (it is personal data).
func NormalizePhone(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(phoneChars, r) }); i >= 0 {
		return "", fmt.Errorf("%w: unexpected character at position %d", ErrInvalidPhone, i)
	}
	num, err := phonenumbers.Parse(s, defaultRegion)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidPhone, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: not a valid number", ErrInvalidPhone)
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), nil
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
