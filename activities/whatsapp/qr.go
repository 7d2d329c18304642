package whatsapp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/makiuchi-d/gozxing"
	zxqrcode "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// How a QR code is drawn. Every module is a whole square of pixels, never smaller than
// minModulePixels (at the old fixed 256 px a version-11 code got 3.7 px per module, rounded
// unevenly), with the standard quiet zone of quietModules light modules on each side. Small
// codes are scaled up to about qrTargetSize pixels so that a laptop camera still sees them well.
const (
	minModulePixels = 4
	quietModules    = 4
	qrTargetSize    = 256
)

// qrLevel is the error correction level: M, as WhatsApp's own web client uses.
var qrLevel = decoder.ErrorCorrectionLevel_M

// QRDataURL renders a pairing QR payload as a PNG data URL ("data:image/png;base64,…") that a
// browser can show directly, so the page needs no QR library. Show the image at its natural
// size: it is drawn for exactly that. The payload is a secret: the returned URL carries it too,
// and the error never does.
func QRDataURL(code string) (string, error) {
	img, err := qrImage(code)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return "", fmt.Errorf("whatsapp: encode QR image: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// qrImage draws the code and reads it back with a standard decoder (ZXing's). Even a perfect
// drawing of some symbols misleads a decoder's finder and alignment pattern search (a data area
// that looks like a pattern: about 2 in 100 random payloads of the real length), and the mask
// decides that. So a symbol that does not read back is drawn again with the other masks, and the
// first that reads is shown. If none does (never seen), the standard symbol is shown: it is
// still valid.
func qrImage(code string) (image.Image, error) {
	q, err := encoder.Encoder_encode(code, qrLevel, nil)
	if err != nil {
		// gozxing's messages name sizes, never the content.
		return nil, fmt.Errorf("whatsapp: render QR code: %w", err)
	}
	img := drawQR(q.GetMatrix())
	if readsBack(img, code) {
		return img, nil
	}
	for mask := range encoder.QRCode_NUM_MASK_PATERNS {
		if mask == q.GetMaskPattern() {
			continue
		}
		alt, err := encoder.Encoder_encode(code, qrLevel, map[gozxing.EncodeHintType]any{
			gozxing.EncodeHintType_QR_MASK_PATTERN: mask,
		})
		if err != nil {
			continue
		}
		if altImg := drawQR(alt.GetMatrix()); readsBack(altImg, code) {
			return altImg, nil
		}
	}
	return img, nil
}

// readsBack reports whether a standard decoder reads code from img.
func readsBack(img image.Image, code string) bool {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return false
	}
	res, err := zxqrcode.NewQRCodeReader().Decode(bmp, nil)
	return err == nil && res.GetText() == code
}

// qrPalette is light then dark: a 2-colour image is written as a 1-bit PNG.
var qrPalette = color.Palette{color.White, color.Black}

// drawQR draws the symbol with its quiet zone, each module as a whole square of pixels.
func drawQR(m *encoder.ByteMatrix) *image.Paletted {
	modules := m.GetWidth() + 2*quietModules
	px := modulePixels(modules)
	img := image.NewPaletted(image.Rect(0, 0, modules*px, modules*px), qrPalette) // all light
	for my := range m.GetHeight() {
		for mx := range m.GetWidth() {
			if m.Get(mx, my) != 1 {
				continue
			}
			x0, y0 := (mx+quietModules)*px, (my+quietModules)*px
			for y := y0; y < y0+px; y++ {
				row := img.Pix[y*img.Stride:]
				for x := x0; x < x0+px; x++ {
					row[x] = 1
				}
			}
		}
	}
	return img
}

// modulePixels is the side of one module in pixels for a code of modules modules (quiet zone
// included): the smallest whole number that reaches qrTargetSize, and at least minModulePixels.
func modulePixels(modules int) int {
	return max(minModulePixels, (qrTargetSize+modules-1)/modules)
}
