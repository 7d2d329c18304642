package whatsapp

import (
	"encoding/base64"
	"fmt"

	"github.com/skip2/go-qrcode"
)

// qrSize is the rendered image's side in pixels. A new-format payload (about 250 characters) is
// QR version 11 at level M, so 256 px leaves about 3-4 px per module: sharp enough to scan from a
// laptop screen, and about 1.3 KB of PNG per code.
const qrSize = 256

// QRDataURL renders a pairing QR payload as a PNG data URL ("data:image/png;base64,…") that a
// browser can show directly, so the page needs no QR library. The payload is a secret: the
// returned URL carries it too, and the error never does.
func QRDataURL(code string) (string, error) {
	png, err := qrcode.Encode(code, qrcode.Medium, qrSize)
	if err != nil {
		return "", fmt.Errorf("whatsapp: render QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}
