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

// sessionClaims are the claims of the connect page's session token (JWT, HS256).
type sessionClaims struct {
	SalonID int64  `json:"salon_id"`
	RunID   string `json:"run_id"` // the workflow run the page was issued for
	jwt.RegisteredClaims
}

// sessions issues and verifies session tokens.
type sessions struct {
	key []byte
	now func() time.Time
}

func (s sessions) issue(salonID int64, runID string) (string, error) {
	return s.issueTTL(salonID, runID, sessionTTL)
}

// issueTTL issues a token that lives ttl (re-link links live 24 h).
func (s sessions) issueTTL(salonID int64, runID string, ttl time.Duration) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	now := s.now()
	claims := sessionClaims{
		SalonID: salonID,
		RunID:   runID,
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        hex.EncodeToString(jti),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
}

// errBadSession is returned for every invalid token; the reason is in the wrapped error.
var errBadSession = errors.New("invalid session token")

// verify checks the signature (HS256 only), the expiry and the salon ID.
func (s sessions) verify(token string) (sessionClaims, error) {
	var claims sessionClaims
	if token == "" {
		return claims, fmt.Errorf("%w: missing", errBadSession)
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return sessionClaims{}, fmt.Errorf("%w: %w", errBadSession, err)
	}
	if claims.SalonID <= 0 {
		return sessionClaims{}, fmt.Errorf("%w: no salon", errBadSession)
	}
	return claims, nil
}
