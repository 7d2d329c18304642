package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// FuzzPageCommand feeds parsePageCommand, the decoding of every message the connect page sends
// over the websocket (readPump), with any message, and with a well-formed pairing-code request
// for any phone. A message is either refused, and the page is told why in one of three Russian
// texts, or it is a request-qr without a phone, or a request-pairing-code with the phone
// NormalizePhone makes of it. A well-formed request is refused only for its phone.
func FuzzPageCommand(f *testing.F) {
	for _, m := range []string{
		`{"type":"request-qr"}`, `{"type":"request-pairing-code","phone":"+7 (999) 000-11-22"}`,
		`{"type":"request-pairing-code","phone":"12"}`, `{"type":"request-pairing-code"}`, `{"type":"dance"}`,
		`{"type":"request-qr","phone":"89990001122"}`, `{"TYPE":"request-qr"}`, `{"type":"request-qr","type":"x"}`,
		`{"type":7}`, `{"type":"request-pairing-code","phone":79990001122}`, `null`, `[]`, `"request-qr"`, ``, `{`,
		`{"type":"request-qr","attempt":3}`, `{"type":"request-qr","attempt":-2}`, `{"type":"request-qr","attempt":"3"}`,
		`{"type":"request-pairing-code","phone":"+7 999 000-11-22","attempt":1e3}`,
	} {
		f.Add([]byte(m), "8 (999) 000-11-22")
	}
	f.Add([]byte(`{}`), "+49 151 12345678")
	f.Add([]byte(`{}`), "8-800-FLOWERS")
	f.Fuzz(func(t *testing.T, msg []byte, phone string) {
		cmd, err := parsePageCommand(msg)
		if err != nil {
			require.Equal(t, pageCommand{}, cmd, "refused, yet got %+v", cmd)
			require.Contains(t, []string{textUnreadable, textBadCommand, textBadPhone}, pageCommandText(err), "refusal %v", err)
		} else {
			requireParsedCommand(t, cmd, msg)
		}

		wellFormed, err := json.Marshal(map[string]string{"type": cmdRequestPairingCode, "phone": phone})
		require.NoError(t, err)
		want, werr := whatsapp.NormalizePhone(phone)
		cmd, err = parsePageCommand(wellFormed)
		if werr != nil {
			require.ErrorIs(t, err, errCommandPhone, "phone %q: got %+v, %v", phone, cmd, err)
			require.Equal(t, textBadPhone, pageCommandText(err))
			return
		}
		require.NoError(t, err, "phone %q", phone)
		require.Equal(t, pageCommand{Type: cmdRequestPairingCode, Phone: want}, cmd, "phone %q", phone)
	})
}

func requireParsedCommand(t *testing.T, cmd pageCommand, msg []byte) {
	t.Helper()
	require.GreaterOrEqual(t, cmd.Attempt, 0, "the attempt the page saw, from %q", msg)
	switch cmd.Type {
	case cmdRequestQR:
		require.Empty(t, cmd.Phone, "request-qr carries a phone: %q", msg)
	case cmdRequestPairingCode:
		require.Regexp(t, `^[0-9]{7,15}$`, cmd.Phone, "request-pairing-code from %q: got phone %q", msg, cmd.Phone)
		again, err := whatsapp.NormalizePhone("+" + cmd.Phone)
		require.NoError(t, err, "phone %q from %q", cmd.Phone, msg)
		require.Equal(t, cmd.Phone, again, "phone %q from %q is not normalised", cmd.Phone, msg)
	default:
		require.Failf(t, "unknown command accepted", "type %q from %q", cmd.Type, msg)
	}
}
