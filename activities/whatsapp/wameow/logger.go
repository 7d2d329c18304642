package wameow

import (
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// waLogger bridges whatsmeow's printf logger to slog. Debug output is dropped on purpose: it
// carries QR payloads ("Emitting QR code …"), raw protocol nodes and message contents. The
// other lines often name JIDs, i.e. clients' phone numbers: they are masked.
type waLogger struct {
	log    *slog.Logger
	module string
}

var _ waLog.Logger = waLogger{}

func (l waLogger) Errorf(msg string, args ...any) {
	l.log.Error(whatsapp.RedactPhones(fmt.Sprintf(msg, args...)), "module", l.module)
}

func (l waLogger) Warnf(msg string, args ...any) {
	l.log.Warn(whatsapp.RedactPhones(fmt.Sprintf(msg, args...)), "module", l.module)
}

func (l waLogger) Infof(msg string, args ...any) {
	l.log.Info(whatsapp.RedactPhones(fmt.Sprintf(msg, args...)), "module", l.module)
}

func (waLogger) Debugf(string, ...any) {}

func (l waLogger) Sub(module string) waLog.Logger {
	return waLogger{log: l.log, module: l.module + "/" + module}
}
