package pii_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

type visit struct{ ClientName, ClientPhone string }

func (visit) SensitivePayload() {}

type state struct{ SalonName string }

func TestSensitiveValuesAreEncryptedOthersStayReadable(t *testing.T) {
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	dc := pii.DataConverter(box)

	p, err := dc.ToPayload(visit{ClientName: "Анна", ClientPhone: "79161234567"})
	require.NoError(t, err)
	require.Equal(t, pii.EncodingEncrypted, string(p.GetMetadata()["encoding"]))
	require.NotContains(t, string(p.GetData()), "79161234567")
	require.NotContains(t, string(p.GetData()), "Анна")
	var back visit
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, "Анна", back.ClientName)

	p, err = dc.ToPayload(state{SalonName: "Бархат"})
	require.NoError(t, err)
	require.Equal(t, "json/plain", string(p.GetMetadata()["encoding"]), "installation state stays readable for operators")
	require.Contains(t, string(p.GetData()), "Бархат")

	other, err := secretbox.New(bytes.Repeat([]byte{8}, 32))
	require.NoError(t, err)
	enc, err := dc.ToPayload(visit{ClientName: "Анна"})
	require.NoError(t, err)
	require.Error(t, pii.DataConverter(other).FromPayload(enc, &back), "another key cannot read it")

	// Payloads recorded before encryption (plain JSON) still decode.
	plain, err := pii.DataConverter(box).ToPayload(map[string]string{"ClientName": "Ольга"})
	require.NoError(t, err)
	var old visit
	require.NoError(t, dc.FromPayload(plain, &old))
	require.Equal(t, "Ольга", old.ClientName)
}
