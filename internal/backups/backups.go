package backups

import (
	"fmt"
	"sort"
	"time"

	"github.com/rempart-io/rempart/internal/regions"
)

// Phase is a Velero backup phase.
type Phase string

// The phases that matter here; any other is neither good nor finished.
const (
	Completed       Phase = "Completed"
	PartiallyFailed Phase = "PartiallyFailed"
	Failed          Phase = "Failed"
	InProgress      Phase = "InProgress"
	Deleting        Phase = "Deleting"
)

// Backup is what the rules need to know of one Velero Backup.
type Backup struct {
	Name      string
	Phase     Phase
	Started   time.Time
	Completed time.Time
	// Items is how many objects the backup holds (Velero's status.progress.itemsBackedUp).
	Items int64
}

// Good says whether a backup counts as a version: only a Completed one that holds something does.
// A partial backup misses objects, and a version that cannot restore everything is not one; an
// empty one (a scope that selects nothing) is a placeholder, not a copy of the tenant's data.
func (b Backup) Good() bool { return b.Phase == Completed && !b.Completed.IsZero() && b.Items > 0 }

// Empty says whether a backup completed holding nothing.
func (b Backup) Empty() bool { return b.Phase == Completed && b.Items == 0 }

// Versions are the good backups, newest first.
func Versions(all []Backup) []Backup {
	var out []Backup
	for _, b := range all {
		if b.Good() {
			out = append(out, b)
		}
	}
	// Velero stamps to the second: equal completions fall back on the start, then the name, so
	// the order never depends on how the list came.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Completed.Equal(b.Completed) {
			return a.Completed.After(b.Completed)
		}
		if !a.Started.Equal(b.Started) {
			return a.Started.After(b.Started)
		}
		return a.Name > b.Name
	})
	return out
}

// ToPrune lists the good backups beyond the newest keep ones, and those older than maxAge at now
// (maxAge 0: no age limit), newest first. Failed, partial and running backups are never pruned
// here and never push a good one out; the newest good backup is never pruned, so the only good
// backup always stays. With keep below one nothing is pruned.
func ToPrune(all []Backup, keep int, maxAge time.Duration, now time.Time) []Backup {
	if keep < 1 {
		return nil
	}
	versions := Versions(all)
	var out []Backup
	for i, b := range versions {
		if i == 0 {
			continue
		}
		if i >= keep || (maxAge > 0 && now.Sub(b.Completed) > maxAge) {
			out = append(out, b)
		}
	}
	return out
}

// RPODeadline is when the newest good backup becomes older than the RPO; ok is false when there is
// no good backup at all, which breaks the RPO from the start.
func RPODeadline(all []Backup, rpo time.Duration) (deadline time.Time, ok bool) {
	versions := Versions(all)
	if len(versions) == 0 {
		return time.Time{}, false
	}
	return versions[0].Completed.Add(rpo), true
}

// Location is where a storage location keeps the backups.
type Location struct {
	// Region is the location's config.region, such as eu-west-3.
	Region   string
	Provider regions.Provider
}

// CheckOffsite refuses a location that is in a region the tenant's nodes are in (not off-site),
// that the catalog does not know, or that lies outside the allowed countries when a residency
// rule applies (allowed is nil when none does).
func CheckOffsite(loc Location, nodeRegions []string, catalog *regions.Catalog, allowed map[string]bool) error {
	if loc.Region == "" {
		return fmt.Errorf("the storage location names no region: its distance from production cannot be shown (FT-CLD-26)")
	}
	for _, r := range nodeRegions {
		if r == loc.Region {
			return fmt.Errorf("the storage location is in %s, where the tenant's nodes run: backups must be kept on another site (FT-CLD-26)", loc.Region)
		}
	}
	res := catalog.Resolve(loc.Region, loc.Provider)
	if !res.Known {
		return fmt.Errorf("%s (FT-CLD-74)", res.Reason)
	}
	if allowed != nil && !regions.Allowed(res, allowed) {
		return fmt.Errorf("the storage location is in %s (%s), outside the countries the tenant's DataResidency allows (FT-CLD-74)", loc.Region, res.Region.Country)
	}
	return nil
}
