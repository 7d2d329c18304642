package simphone

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// qrPrefix starts the new-format QR payload of current whatsmeow versions.
const qrPrefix = "https://wa.me/settings/linked_devices#"

// linkingAlphabet is the custom base32 alphabet of WhatsApp pairing codes (no 0, I, O, U).
const linkingAlphabet = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	return b
}

// newQRPayload returns a payload shaped like a real one: a server ref, then the base64 noise
// public key, identity public key and ADV secret, then the client type (1 = web). About 257
// characters, like the measured 248-270.
func newQRPayload() string {
	b64 := base64.StdEncoding.EncodeToString
	ref := "2@" + b64(randomBytes(60))
	return qrPrefix + strings.Join([]string{ref, b64(randomBytes(32)), b64(randomBytes(32)), b64(randomBytes(32)), "1"}, ",")
}

// newPairingCode returns an 8-character pairing code formatted "ABCD-EFGH".
func newPairingCode() string {
	b := randomBytes(8)
	code := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			code = append(code, '-')
		}
		code = append(code, linkingAlphabet[int(c)%len(linkingAlphabet)])
	}
	return string(code)
}

// newMessageID returns an ID shaped like whatsmeow's GenerateMessageID ("3EB0" + hex).
func newMessageID() string {
	return "3EB0" + strings.ToUpper(hex.EncodeToString(randomBytes(9)))
}
