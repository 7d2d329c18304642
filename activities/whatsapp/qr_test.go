package whatsapp

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqrcode "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"
)

// newFormatPayload builds a payload shaped like whatsmeow's new QR string:
// https://wa.me/settings/linked_devices#ref,noise,identity,adv,clientType.
func newFormatPayload() string {
	key := func(b byte) string {
		return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b, b + 7, b + 13}, 11)[:32])
	}
	ref := "2@" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("Kq9/zx+1"), 8)[:60])
	return "https://wa.me/settings/linked_devices#" + strings.Join([]string{ref, key(3), key(71), key(150), "1"}, ",")
}

func TestQRDataURLRoundTrip(t *testing.T) {
	code := newFormatPayload()
	require.GreaterOrEqual(t, len(code), 250, "payload should be realistic in size")

	url, err := QRDataURL(code)
	require.NoError(t, err)
	const prefix = "data:image/png;base64,"
	require.True(t, strings.HasPrefix(url, prefix), "got %.40q, want prefix %q", url, prefix)

	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, prefix))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, 256, img.Bounds().Dx(), "image width")

	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := zxqrcode.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err)
	require.Equal(t, code, res.GetText())
}

func TestQRDataURLTooLong(t *testing.T) {
	_, err := QRDataURL(strings.Repeat("x", 5000))
	require.Error(t, err)
}
