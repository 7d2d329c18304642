// Package secretbox seals small secrets (YClients API keys, WhatsApp pairing codes, clients'
// data in Temporal payloads) with AES-256-GCM, under a keyring that allows key rotation.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// Box seals with its newest key and opens what any of its keys sealed, so keys can be
// rotated: a new key goes first, the old ones stay until nothing sealed with them is needed.
// It is safe for concurrent use.
type Box struct {
	keys []boxKey // newest first
}

type boxKey struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Sealed values start with a version byte and the ID of the key that sealed them; values
// sealed before keys had IDs (a bare nonce and ciphertext) are still opened, by trying each key.
const (
	version1 = 0xA1
	idSize   = 4
)

// New returns a Box for one 32-byte AES-256 key.
func New(key []byte) (*Box, error) { return NewKeyring(key) }

// NewKeyring returns a Box for keys, newest first: the first one seals, every one opens.
func NewKeyring(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w, got none", ErrKeySize)
	}
	b := &Box{}
	for _, key := range keys {
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
		b.keys = append(b.keys, boxKey{id: KeyID(key), aead: aead})
	}
	return b, nil
}

// KeyID names a key without revealing it: the first bytes of its SHA-256 under a label.
func KeyID(key []byte) [idSize]byte {
	sum := sha256.Sum256(append([]byte("aiadmin secretbox key id\x00"), key...))
	var id [idSize]byte
	copy(id[:], sum[:])
	return id
}

// SealingKeyID is the hex ID of the key new values are sealed with.
func (b *Box) SealingKeyID() string { return hex.EncodeToString(b.keys[0].id[:]) }

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

// Seal encrypts plaintext with the newest key and binds it to additionalData (for example the
// salon ID, so a ciphertext cannot be moved to another salon's row). The result is the version
// byte, the key's ID, a random 12-byte nonce, then the GCM ciphertext and tag.
func (b *Box) Seal(plaintext, additionalData []byte) ([]byte, error) {
	k := b.keys[0]
	n := k.aead.NonceSize()
	out := make([]byte, 1+idSize+n, 1+idSize+n+len(plaintext)+k.aead.Overhead())
	out[0] = version1
	copy(out[1:], k.id[:])
	if _, err := rand.Read(out[1+idSize:]); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return k.aead.Seal(out, out[1+idSize:], plaintext, additionalData), nil
}

// Open decrypts a ciphertext made by Seal with any of the Box's keys and the same
// additionalData, including values sealed before keys had IDs.
func (b *Box) Open(ciphertext, additionalData []byte) ([]byte, error) {
	if len(ciphertext) > 1+idSize && ciphertext[0] == version1 {
		for _, k := range b.keys {
			if [idSize]byte(ciphertext[1:1+idSize]) != k.id {
				continue
			}
			if plain, err := open(k.aead, ciphertext[1+idSize:], additionalData); err == nil {
				return plain, nil
			}
		}
	}
	// A bare nonce and ciphertext: sealed before keys had IDs (or a random first byte that
	// looks like the version).
	for _, k := range b.keys {
		if plain, err := open(k.aead, ciphertext, additionalData); err == nil {
			return plain, nil
		}
	}
	return nil, ErrOpen
}

func open(aead cipher.AEAD, nonceAndCiphertext, additionalData []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(nonceAndCiphertext) < n+aead.Overhead() {
		return nil, ErrOpen
	}
	return aead.Open(nil, nonceAndCiphertext[:n], nonceAndCiphertext[n:], additionalData)
}
