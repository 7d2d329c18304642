package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// sessionTTL is how long a connect page may talk to its websocket. Reloading the page from
// YClients issues a new token.
const sessionTTL = time.Hour

// Token audiences: a token is accepted only where it was made for.
const (
	audSession = "aiadmin-connect" // the connect page's websocket session
	audRelink  = "aiadmin-relink"  // the owner's re-link link
)

// sessionClaims are the claims of the connect page's tokens (JWT, HS256).
type sessionClaims struct {
	SalonID int64 `json:"salon_id"`
	// Install is the installation the token was issued for (workflows.State.InstallID): after
	// an uninstall and a reinstall the salon has another one, and the token is refused.
	Install string `json:"install"`
	// UserID is the YClients user the marketplace redirect was signed for (0: unknown).
	UserID int64 `json:"uid,omitempty"`
	// Pair says the page may ask for QR and pairing codes; a page issued for an installation
	// that is not pairing only shows its status.
	Pair bool `json:"pair,omitempty"`
	// RelinkGen is, on a re-link link, the unlink it was made for (workflows.State.RelinkGen).
	RelinkGen int `json:"gen,omitempty"`
	jwt.RegisteredClaims
}

// session is the ID of the browser session a token was issued to: the codes of the pairing
// attempts it asks for go to it alone.
func (c sessionClaims) session() string { return c.ID }

// sessions issues and verifies one audience's tokens.
type sessions struct {
	key []byte
	aud string
	now func() time.Time
}

func newSessions(key []byte, aud string) sessions {
	return sessions{key: key, aud: aud, now: time.Now}
}

// issue signs c for ttl with a fresh ID.
func (s sessions) issue(c sessionClaims, ttl time.Duration) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	now := s.now()
	c.RegisteredClaims = jwt.RegisteredClaims{
		ID:        hex.EncodeToString(jti),
		Audience:  jwt.ClaimStrings{s.aud},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
}

// errBadSession is returned for every invalid token; the reason is in the wrapped error.
var errBadSession = errors.New("invalid session token")

// verify checks the signature (HS256 only), the audience, the expiry and the salon ID.
func (s sessions) verify(token string) (sessionClaims, error) {
	var claims sessionClaims
	if token == "" {
		return claims, fmt.Errorf("%w: missing", errBadSession)
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(s.aud),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return sessionClaims{}, fmt.Errorf("%w: %w", errBadSession, err)
	}
	if claims.SalonID <= 0 || claims.Install == "" || claims.ID == "" {
		return sessionClaims{}, fmt.Errorf("%w: incomplete", errBadSession)
	}
	return claims, nil
}
