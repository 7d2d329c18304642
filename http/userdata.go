package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/unicode/norm"
)

// userData is the part of the signed user_data we use. YClients sends the user's id as "id";
// its docs also show "user_id".
type userData struct {
	ID        flexID `json:"id"`
	UserID    flexID `json:"user_id"`
	SalonName string `json:"salon_name"`
	signed    bool
}

// user is the YClients user's ID, 0 when unknown.
func (u userData) user() int64 {
	if u.ID != 0 {
		return int64(u.ID)
	}
	return int64(u.UserID)
}

// marketplaceSalonID reads the salon from salon_id, or from the array forms salon_ids[0] and
// salon_ids[] that YClients also sends.
func marketplaceSalonID(c *gin.Context) (int64, error) {
	raw, ok := c.GetQuery("salon_id")
	if !ok {
		raw, ok = c.GetQuery("salon_ids[0]")
	}
	if !ok {
		raw, ok = c.GetQuery("salon_ids[]")
	}
	if !ok || strings.TrimSpace(raw) == "" {
		return 0, fail(kindBadRequest, "salon_id is required")
	}
	return parseSalonID(raw)
}

// parseSalonID accepts a positive decimal ID.
func parseSalonID(raw string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(kindBadRequest, "salon_id must be a positive integer")
	}
	return id, nil
}

// verifyUserData checks user_data_sign: lowercase hex HMAC-SHA256, keyed by the partner token,
// over the base64-decoded user_data (YClients uses the URL-safe alphabet with padding; the
// standard alphabet and unpadded forms are accepted too). Without user_data the redirect passes
// only when signed data is not required (demo mode).
func verifyUserData(data, sign, partnerToken string, required bool) (userData, error) {
	var ud userData
	if data == "" {
		if required {
			return ud, fail(kindForbidden, "signed user_data is required")
		}
		return ud, nil
	}
	if sign == "" {
		return ud, fail(kindForbidden, "user_data_sign is missing")
	}
	raw, err := decodeBase64Any(data)
	if err != nil {
		return ud, fail(kindForbidden, "user_data is not base64").because(err)
	}
	got, err := hex.DecodeString(sign)
	if err != nil || partnerToken == "" {
		return ud, fail(kindForbidden, "user_data_sign is invalid")
	}
	mac := hmac.New(sha256.New, []byte(partnerToken))
	mac.Write(raw)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ud, fail(kindForbidden, "user_data_sign is invalid")
	}
	if err := json.Unmarshal(raw, &ud); err != nil {
		return userData{}, fail(kindForbidden, "user_data is not a JSON object").because(err)
	}
	ud.signed = true
	return ud, nil
}

// decodeBase64Any decodes standard or URL-safe base64, padded or not. A '+' that arrived
// unescaped in a query string has become a space; it is put back before other whitespace is
// trimmed, or a '+' at either end would be lost.
func decodeBase64Any(s string) ([]byte, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, " ", "+"))
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	return b, nil
}

// sameSalonName reports whether the salon name YClients signed into user_data names the
// company YClients returns for the redirect's salon_id: equal after normalising case, quotes
// of every kind, punctuation-free spacing and Unicode composition.
func sameSalonName(signed, title string) bool {
	a, b := normalizeSalonName(signed), normalizeSalonName(title)
	return a != "" && a == b
}

func normalizeSalonName(s string) string {
	s = norm.NFC.String(strings.ToLower(s))
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case strings.ContainsRune("\"'`«»„“”‘’‚‹›", r):
			continue
		case r == 'ё':
			r = 'е'
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
