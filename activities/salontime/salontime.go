// Package salontime answers "what time is it at the salon" with one policy for every caller:
// the salon's zone from its IANA name (YClients' timezone_name), Moscow when that name is
// missing or unknown, and the start of a salon-local day. The zone database is embedded, so a
// minimal container without /usr/share/zoneinfo resolves every zone the same way.
package salontime

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // the zone database, embedded
)

// Fallback is the zone of a salon whose zone is missing or unknown: most YClients salons keep
// Moscow time, and a message an hour off is better than none.
const Fallback = "Europe/Moscow"

// ErrUnknownZone is returned (wrapped) by Location for a zone name it cannot resolve.
var ErrUnknownZone = errors.New("salontime: unknown time zone")

var fallback = func() *time.Location {
	loc, err := time.LoadLocation(Fallback)
	if err != nil {
		panic(err) // embedded tzdata always has it
	}
	return loc
}()

// Location returns the zone named name. A missing or unknown name gives the Fallback zone and,
// for an unknown one, an error wrapping ErrUnknownZone: log it and carry on. The location is
// never nil.
func Location(name string) (*time.Location, error) {
	if name == "" {
		return fallback, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || loc == nil {
		return fallback, fmt.Errorf("%w %q: using %s", ErrUnknownZone, name, Fallback)
	}
	return loc, nil
}

// DayStart returns midnight of t's calendar day in loc.
func DayStart(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
}
