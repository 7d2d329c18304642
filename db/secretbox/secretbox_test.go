package secretbox_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/secretbox"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, secretbox.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

func newBox(t *testing.T) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(newKey(t))
	require.NoError(t, err)
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"api key", []byte("yclients-user-token-123"), []byte("salon:42")},
		{"empty plaintext", []byte{}, []byte("salon:42")},
		{"nil aad", []byte("qr-code-payload"), nil},
		{"large", bytes.Repeat([]byte{0xAB}, 64<<10), []byte("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := b.Seal(tc.plaintext, tc.aad)
			require.NoError(t, err)
			require.False(t, len(tc.plaintext) > 0 && bytes.Contains(ct, tc.plaintext), "ciphertext contains plaintext")
			got, err := b.Open(ct, tc.aad)
			require.NoError(t, err)
			require.Equal(t, len(tc.plaintext), len(got), "got %d bytes, want %d", len(got), len(tc.plaintext))
			require.True(t, bytes.Equal(tc.plaintext, got), "got %q want %q", got, tc.plaintext)
		})
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	b := newBox(t)
	a, err := b.Seal([]byte("same"), nil)
	require.NoError(t, err)
	c, err := b.Seal([]byte("same"), nil)
	require.NoError(t, err)
	require.NotEqual(t, a, c, "two seals of the same plaintext must differ")
}

func TestOpenRejects(t *testing.T) {
	b := newBox(t)
	ct, err := b.Seal([]byte("secret"), []byte("salon:1"))
	require.NoError(t, err)

	t.Run("wrong aad", func(t *testing.T) {
		_, err := b.Open(ct, []byte("salon:2"))
		require.ErrorIs(t, err, secretbox.ErrOpen)
	})
	t.Run("tampered ciphertext", func(t *testing.T) {
		for i := range ct {
			bad := bytes.Clone(ct)
			bad[i] ^= 0x01
			_, err := b.Open(bad, []byte("salon:1"))
			require.ErrorIs(t, err, secretbox.ErrOpen, "flipping byte %d", i)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 1, 12, 27, len(ct) - 1} {
			_, err := b.Open(ct[:n], []byte("salon:1"))
			require.ErrorIs(t, err, secretbox.ErrOpen, "length %d", n)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		_, err := newBox(t).Open(ct, []byte("salon:1"))
		require.ErrorIs(t, err, secretbox.ErrOpen)
	})
}

func TestNewRejectsWrongKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		_, err := secretbox.New(make([]byte, n))
		require.True(t, errors.Is(err, secretbox.ErrKeySize), "key of %d bytes: got %v, want ErrKeySize", n, err)
	}
}

func TestKeyFromBase64(t *testing.T) {
	key := newKey(t)
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "raw std": base64.RawStdEncoding,
		"url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := secretbox.KeyFromBase64(" " + enc.EncodeToString(key) + "\n")
			require.NoError(t, err)
			require.Equal(t, key, got)
		})
	}
	t.Run("short key", func(t *testing.T) {
		_, err := secretbox.KeyFromBase64(base64.StdEncoding.EncodeToString(key[:16]))
		require.ErrorIs(t, err, secretbox.ErrKeySize)
	})
	t.Run("not base64", func(t *testing.T) {
		_, err := secretbox.KeyFromBase64("not base64 at all!")
		require.Error(t, err)
	})
}

// TestKeyRotation: the newest key seals; every key of the ring opens; values sealed before keys
// had IDs still open; a ring without the sealing key cannot open.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey1 := newKey(t), newKey(t)
	old, err := secretbox.New(oldKey)
	require.NoError(t, err)
	sealedOld, err := old.Seal([]byte("api-key-1"), []byte("salon:1"))
	require.NoError(t, err)
	legacy := legacySeal(t, oldKey, []byte("pairing-code"), []byte("salon:1"))

	ring, err := secretbox.NewKeyring(newKey1, oldKey)
	require.NoError(t, err)
	require.NotEqual(t, old.SealingKeyID(), ring.SealingKeyID(), "the newest key seals")
	for _, c := range []struct {
		sealed []byte
		want   string
	}{{sealedOld, "api-key-1"}, {legacy, "pairing-code"}} {
		got, err := ring.Open(c.sealed, []byte("salon:1"))
		require.NoError(t, err)
		require.Equal(t, c.want, string(got))
	}
	sealedNew, err := ring.Seal([]byte("api-key-2"), []byte("salon:1"))
	require.NoError(t, err)
	id := secretbox.KeyID(newKey1)
	require.Equal(t, id[:], sealedNew[1:5], "the key's ID is stored with the value")
	_, err = old.Open(sealedNew, []byte("salon:1"))
	require.ErrorIs(t, err, secretbox.ErrOpen, "the old ring alone cannot open the new key's values")
	onlyNew, err := secretbox.New(newKey1)
	require.NoError(t, err)
	_, err = onlyNew.Open(sealedOld, []byte("salon:1"))
	require.ErrorIs(t, err, secretbox.ErrOpen, "a removed key's values no longer open")
	_, err = secretbox.NewKeyring()
	require.ErrorIs(t, err, secretbox.ErrKeySize)
}

// legacySeal seals as the Box did before keys had IDs: a nonce and the GCM ciphertext.
func legacySeal(t *testing.T, key, plaintext, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := make([]byte, aead.NonceSize())
	_, err = rand.Read(nonce)
	require.NoError(t, err)
	return aead.Seal(nonce, nonce, plaintext, aad)
}
