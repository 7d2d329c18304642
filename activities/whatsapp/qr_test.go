package whatsapp

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqrcode "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"github.com/stretchr/testify/require"
)

const qrPrefix = "https://wa.me/settings/linked_devices#"

// randomPayload builds a payload shaped like whatsmeow's QR string (pair.go makeQRData):
// https://wa.me/settings/linked_devices#ref,noise,identity,adv,clientType, where noise, identity
// and adv are base64 of 32-byte keys and ref is the server's "2@…" reference (80 base64
// characters after "2@" here, as seen from WhatsApp).
func randomPayload(rng *rand.Rand) string {
	b64 := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return qrPrefix + strings.Join([]string{"2@" + b64(60), b64(32), b64(32), b64(32), "1"}, ",")
}

// decodeDataURL turns the data URL back into the image.
func decodeDataURL(t *testing.T, url string) image.Image {
	t.Helper()
	const prefix = "data:image/png;base64,"
	require.True(t, strings.HasPrefix(url, prefix), "got %.40q, want prefix %q", url, prefix)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, prefix))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	return img
}

// decodeQR reads the image with a standard decoder (ZXing's QR reader, no hints).
func decodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := zxqrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r+g+b < 3*0x8000
}

// requireWholeModules checks the drawing without trusting the encoder: the top-left finder
// pattern starts after the 4-module quiet zone, which gives the module size; it must be a whole
// number of at least 4 px, the side a whole number of modules of a real QR version (17+4v plus
// the quiet zone), every module one uniform square, the quiet zone light and the finder pattern
// 7 modules of dark-light-dark-dark-dark-light-dark.
func requireWholeModules(t *testing.T, img image.Image) {
	t.Helper()
	side := img.Bounds().Dx()
	require.Equal(t, side, img.Bounds().Dy(), "image: got %dx%d, want a square", side, img.Bounds().Dy())
	offset := 0
	for offset < side && !dark(img, offset, offset) {
		offset++
	}
	require.Zero(t, offset%4, "quiet zone: got %d px, want 4 modules of whole pixels", offset)
	px := offset / 4
	require.GreaterOrEqual(t, px, 4, "px per module: got %d want at least 4", px)
	require.Zero(t, side%px, "image side: got %d px, want a whole number of %d px modules", side, px)
	modules := side / px
	require.Zero(t, (modules-8-17)%4, "modules: got %d, want 17+4v plus the quiet zone", modules)
	for my := range modules {
		for mx := range modules {
			d := dark(img, mx*px, my*px)
			if my < 4 || mx < 4 || my >= modules-4 || mx >= modules-4 {
				require.False(t, d, "quiet zone: module (%d,%d) is dark", mx, my)
			}
			for y := my * px; y < (my+1)*px; y++ {
				for x := mx * px; x < (mx+1)*px; x++ {
					if dark(img, x, y) != d {
						require.Failf(t, "module not uniform", "pixel (%d,%d) differs from its module (%d,%d)", x, y, mx, my)
					}
				}
			}
		}
	}
	finder := ""
	for mx := 4; mx < 11; mx++ {
		finder += map[bool]string{true: "1", false: "0"}[dark(img, mx*px, 6*px+px/2)]
	}
	require.Equal(t, "1011101", finder, "finder pattern's middle row: got %s", finder)
}

func TestQRDataURLRoundTrip(t *testing.T) {
	code := randomPayload(rand.New(rand.NewPCG(1, 2)))
	require.GreaterOrEqual(t, len(code), 250, "payload should be realistic in size")
	url, err := QRDataURL(code)
	require.NoError(t, err)
	img := decodeDataURL(t, url)
	requireWholeModules(t, img)
	got, err := decodeQR(img)
	require.NoError(t, err)
	require.Equal(t, code, got)
}

// TestQRDecodesAlways: 1,000 random payloads of the real length, rendered as the page shows
// them, all read back by a standard decoder (ZXing's QR reader, no hints). At the old fixed
// 256 px about 2 in 100 failed, and drawn at whole 4 px modules with the encoder's mask still
// about 2.5 in 100: hence the mask fallback in qrImage.
func TestQRDecodesAlways(t *testing.T) {
	const n = 1000
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sizes := map[int]int{} // image side in px → payloads
	for i := range n {
		code := randomPayload(rng)
		url, err := QRDataURL(code)
		require.NoError(t, err, "payload %d (seed %d)", i, seed)
		img := decodeDataURL(t, url)
		if i < 50 { // the pixel check is slow; the decode below runs on every payload
			requireWholeModules(t, img)
		}
		got, err := decodeQR(img)
		require.NoError(t, err, "payload %d (seed %d, %d chars, %d px): got no decode", i, seed, len(code), img.Bounds().Dx())
		require.Equal(t, code, got, "payload %d (seed %d): decoded text differs", i, seed)
		sizes[img.Bounds().Dx()]++
	}
	t.Logf("%d payloads decoded; image sides (px): %v", n, sizes)
}

// TestQRMaskFallback: a payload whose standard symbol a standard decoder cannot read is shown
// with another mask, which it reads.
func TestQRMaskFallback(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8)) // a fixed sequence: some of its first 500 need the fallback
	for i := range 500 {
		code := randomPayload(rng)
		q, werr := encoder.Encoder_encode(code, qrLevel, nil)
		require.NoError(t, werr)
		if readsBack(drawQR(q.GetMatrix()), code) {
			continue
		}
		img, err := qrImage(code)
		require.NoError(t, err)
		requireWholeModules(t, img)
		got, err := decodeQR(img)
		require.NoError(t, err, "payload %d: the fallback symbol does not read either", i)
		require.Equal(t, code, got)
		return
	}
	require.Fail(t, "no payload needed the fallback", "got 500 payloads that read with the standard mask, want some that do not")
}

func TestModulePixels(t *testing.T) {
	for _, tc := range []struct{ modules, want int }{
		{29 + 8, 7},  // version 1: scaled up to about 256 px
		{61 + 8, 4},  // version 11, the real payload: 276 px
		{65 + 8, 4},  // version 12
		{177 + 8, 4}, // version 40: never below 4
	} {
		require.Equal(t, tc.want, modulePixels(tc.modules), "modules %d: got %d px per module want %d",
			tc.modules, modulePixels(tc.modules), tc.want)
	}
}

func TestQRDataURLTooLong(t *testing.T) {
	_, err := QRDataURL(strings.Repeat("x", 5000))
	require.Error(t, err)
}
