// Package secretbox seals small secrets (YClients API keys, WhatsApp pairing
// codes) with AES-256-GCM before they are stored in PostgreSQL.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the AES-256 key length in bytes.
const KeySize = 32

// ErrKeySize is returned for a key that is not KeySize bytes long.
var ErrKeySize = fmt.Errorf("secretbox: key must be %d bytes", KeySize)

// ErrOpen is returned when a ciphertext is too short, was tampered with, or
// was sealed with another key or additional data. The causes are deliberately
// not told apart.
var ErrOpen = errors.New("secretbox: message authentication failed")

// Box seals and opens messages with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte AES-256 key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w, got %d", ErrKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// KeyFromBase64 decodes a key given in standard or URL-safe base64, padded or
// not (as `openssl rand -base64 32` prints it), and checks its length.
func KeyFromBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w, got %d", ErrKeySize, len(key))
		}
		return key, nil
	}
	// The input is a secret: say nothing about where it failed to decode.
	return nil, errors.New("secretbox: key is not valid base64")
}

// Seal encrypts plaintext and binds it to additionalData (for example the
// salon ID, so a ciphertext cannot be moved to another salon's row). The
// result is a random 12-byte nonce followed by the GCM ciphertext and tag.
func (b *Box) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, additionalData), nil
}

// Open decrypts a ciphertext made by Seal with the same key and additionalData.
func (b *Box) Open(ciphertext, additionalData []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(ciphertext) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	plaintext, err := b.aead.Open(nil, ciphertext[:n], ciphertext[n:], additionalData)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}
