package adminaccess

import (
	"fmt"
	"time"
)

// Phase is where a grant is in its life.
type Phase string

const (
	// Pending: the window has not opened; no binding exists.
	Pending Phase = "Pending"
	// Active: the window is open; the bindings exist.
	Active Phase = "Active"
	// Expired: the window has closed; the bindings are gone and the object stays as the record.
	Expired Phase = "Expired"
	// Revoked: revoked before its end; the bindings are gone.
	Revoked Phase = "Revoked"
)

// Window is when a grant applies: from NotBefore (or from its creation when unset) until Expires,
// excluded, unless revoked.
type Window struct {
	Created   time.Time
	NotBefore *time.Time
	Expires   time.Time
	Revoked   bool
}

// Start is when the window opens.
func (w Window) Start() time.Time {
	if w.NotBefore != nil {
		return *w.NotBefore
	}
	return w.Created
}

// PhaseAt returns the phase at now and, while it can still change by itself, how long until it
// does.
func PhaseAt(w Window, now time.Time) (phase Phase, next time.Duration, changes bool) {
	switch {
	case w.Revoked:
		return Revoked, 0, false
	case !now.Before(w.Expires):
		return Expired, 0, false
	case now.Before(w.Start()):
		return Pending, w.Start().Sub(now), true
	}
	return Active, w.Expires.Sub(now), true
}

// Limits are the operator-wide bounds on a grant's length.
type Limits struct {
	// MaxTemporary bounds a temporary grant (default 24 h).
	MaxTemporary time.Duration
	// MaxStanding bounds a standing grant (366 days), which must also have been reviewed within
	// ReviewValidity of now.
	MaxStanding    time.Duration
	ReviewValidity time.Duration
}

// DefaultLimits are the limits without operator settings.
var DefaultLimits = Limits{MaxTemporary: 24 * time.Hour, MaxStanding: 366 * 24 * time.Hour, ReviewValidity: 366 * 24 * time.Hour}

// CheckDuration refuses a window longer than the limits allow, or a standing grant whose last
// review is missing or older than a year, with a sentence naming the requirement.
func CheckDuration(w Window, standing bool, reviewedAt *time.Time, now time.Time, l Limits) error {
	if !w.Expires.After(w.Start()) {
		return fmt.Errorf("the grant expires at %s, not after it starts at %s (FT-CLD-14)", w.Expires.UTC().Format(time.RFC3339), w.Start().UTC().Format(time.RFC3339))
	}
	length := w.Expires.Sub(w.Start())
	if !standing {
		if length > l.MaxTemporary {
			return fmt.Errorf("a temporary grant lasts at most %s and this one lasts %s: shorten it, or make it a reviewed standing grant (FT-CLD-14)", l.MaxTemporary, length)
		}
		return nil
	}
	if length > l.MaxStanding {
		return fmt.Errorf("a standing grant lasts at most %s and this one lasts %s: renew it after its yearly review (FT-CLD-17)", l.MaxStanding, length)
	}
	if reviewedAt == nil {
		return fmt.Errorf("a standing grant needs reviewedAt, the date of its last review (FT-CLD-17)")
	}
	if now.Sub(*reviewedAt) > l.ReviewValidity {
		return fmt.Errorf("the standing grant was last reviewed on %s, more than a year ago: review it and update reviewedAt (FT-CLD-17)", reviewedAt.UTC().Format(time.DateOnly))
	}
	return nil
}
