package adminaccess

import (
	"strings"
	"testing"
	"time"
)

func TestPhaseAtTheBoundaries(t *testing.T) {
	created := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	notBefore := created.Add(time.Hour)
	expires := notBefore.Add(4 * time.Hour)
	w := Window{Created: created, NotBefore: &notBefore, Expires: expires}
	tests := []struct {
		at        time.Time
		want      Phase
		next      time.Duration
		changes   bool
		modifyWin func(Window) Window
	}{
		{at: notBefore.Add(-time.Second), want: Pending, next: time.Second, changes: true},
		{at: notBefore, want: Active, next: 4 * time.Hour, changes: true},
		{at: notBefore.Add(time.Second), want: Active, next: 4*time.Hour - time.Second, changes: true},
		{at: expires.Add(-time.Second), want: Active, next: time.Second, changes: true},
		{at: expires, want: Expired},
		{at: expires.Add(time.Second), want: Expired},
		{at: notBefore.Add(time.Minute), want: Revoked, modifyWin: func(w Window) Window { w.Revoked = true; return w }},
		{at: created, want: Active, next: 4 * time.Hour, changes: true, modifyWin: func(w Window) Window { w.NotBefore = nil; w.Expires = created.Add(4 * time.Hour); return w }},
	}
	for _, tt := range tests {
		win := w
		if tt.modifyWin != nil {
			win = tt.modifyWin(w)
		}
		phase, next, changes := PhaseAt(win, tt.at)
		if phase != tt.want || next != tt.next || changes != tt.changes {
			t.Errorf("at %s: %s, next in %s (%v); want %s, %s (%v)", tt.at.Format(time.TimeOnly), phase, next, changes, tt.want, tt.next, tt.changes)
		}
	}
}

func TestCheckDuration(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	window := func(d time.Duration) Window { return Window{Created: now, Expires: now.Add(d)} }
	reviewed := func(ago time.Duration) *time.Time { r := now.Add(-ago); return &r }
	day := 24 * time.Hour
	tests := []struct {
		name     string
		w        Window
		standing bool
		review   *time.Time
		want     string
	}{
		{"temporary within a day", window(24 * time.Hour), false, nil, ""},
		{"temporary one second too long", window(24*time.Hour + time.Second), false, nil, "a temporary grant lasts at most 24h0m0s"},
		{"expires before it starts", window(-time.Second), false, nil, "not after it starts"},
		{"expires when it starts", window(0), false, nil, "not after it starts"},
		{"standing, reviewed last month", window(300 * day), true, reviewed(30 * day), ""},
		{"standing without review", window(300 * day), true, nil, "needs reviewedAt"},
		{"standing reviewed too long ago", window(30 * day), true, reviewed(367 * day), "more than a year ago"},
		{"standing too long", window(367 * day), true, reviewed(day), "a standing grant lasts at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDuration(tt.w, tt.standing, tt.review, now, DefaultLimits)
			if tt.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "FT-CLD-1") {
				t.Errorf("got %v, want a refusal containing %q and naming the requirement", err, tt.want)
			}
		})
	}
}
