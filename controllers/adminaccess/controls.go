package adminaccess

import (
	"fmt"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/internal/compliance"
)

// approvedWords names the approver, or says there is none yet.
func approvedWords(aa *rempartv1.AdminAccess) string {
	if aa.Spec.ApprovedBy == "" {
		return ", not yet approved"
	}
	return ", approved by " + aa.Spec.ApprovedBy
}

// evaluate judges a grant: its window and bindings agree, its subject is a person, its review is
// current, and its scope says whether it is a break-glass access. A grant is itself the approved
// derogation: no exception is in force, but its results go through the same judge as every
// kind's.
func evaluate(aa *rempartv1.AdminAccess, d decision, bindings []rempartv1.ObjectReference, now time.Time, cfg Config) []rempartv1.ControlResult {
	var j compliance.ExceptionSet
	results := []rempartv1.ControlResult{
		windowResult(d, bindings, j),
		nominativeResult(aa, d, j),
		scopeResult(aa, d, bindings, j),
	}
	// Only a standing grant is reviewed.
	if aa.Spec.Standing && aa.Spec.ReviewedAt != nil {
		results = append(results, reviewResult(aa, now, cfg, j))
	}
	return compliance.Results(results...)
}

func windowResult(d decision, bindings []rempartv1.ObjectReference, j compliance.ExceptionSet) rempartv1.ControlResult {
	switch {
	case d.phase == rempartv1.AdminAccessRefused:
		return j.Fail(compliance.AccessWindow, "GrantRefused", d.message)
	case !d.grant && len(bindings) > 0:
		return j.Fail(compliance.AccessWindow, "BindingsOutsideWindow",
			fmt.Sprintf("%d bindings of this grant still exist outside its window: the operator is removing them (FT-CLD-14).", len(bindings)))
	default:
		return j.Pass(compliance.AccessWindow, "WithinWindow",
			"The bindings exist exactly while the approved window is open (FT-CLD-14, PAS-12.2).")
	}
}

func nominativeResult(aa *rempartv1.AdminAccess, d decision, j compliance.ExceptionSet) rempartv1.ControlResult {
	switch {
	case d.untrusted:
		// The API server did not vouch for who asked or who approved.
		return j.Fail(compliance.AccessNominative, "RecordNotTrusted", d.message)
	case aa.Spec.Subject.Kind == rempartv1.AdminSubjectGroup:
		return j.Pass(compliance.AccessNominative, "GroupJustified",
			fmt.Sprintf("The subject is group %s, accepted on this justification: %s; requested by %s%s (FT-CLD-18).", aa.Spec.Subject.Name, aa.Spec.GroupJustification, aa.Spec.RequestedBy, approvedWords(aa)))
	default:
		return j.Pass(compliance.AccessNominative, "NamedPerson",
			fmt.Sprintf("The subject is the named person %s; requested by %s%s (FT-CLD-18).", aa.Spec.Subject.Name, aa.Spec.RequestedBy, approvedWords(aa)))
	}
}

func reviewResult(aa *rempartv1.AdminAccess, now time.Time, cfg Config, j compliance.ExceptionSet) rempartv1.ControlResult {
	due := aa.Spec.ReviewedAt.Add(cfg.Limits.ReviewValidity)
	switch {
	case !now.Before(due):
		return j.Fail(compliance.AccessReview, "ReviewOverdue",
			fmt.Sprintf("The standing grant's yearly review was due on %s: review it and update reviewedAt (FT-CLD-17).", due.UTC().Format(time.DateOnly)))
	case due.Sub(now) <= reviewNotice:
		return j.Pass(compliance.AccessReview, "ReviewDueSoon",
			fmt.Sprintf("The standing grant's yearly review is due on %s, within 30 days: plan it (FT-CLD-17).", due.UTC().Format(time.DateOnly)))
	default:
		return j.Pass(compliance.AccessReview, "Reviewed",
			fmt.Sprintf("Reviewed on %s; next review due on %s (FT-CLD-17).", aa.Spec.ReviewedAt.UTC().Format(time.DateOnly), due.UTC().Format(time.DateOnly)))
	}
}

func scopeResult(aa *rempartv1.AdminAccess, d decision, bindings []rempartv1.ObjectReference, j compliance.ExceptionSet) rempartv1.ControlResult {
	switch {
	case aa.Spec.BreakGlass && d.grant:
		// Least privilege is suspended while the glass is broken: said, not hidden.
		return j.Fail(compliance.AccessScope, "BreakGlassOpen",
			fmt.Sprintf("Break-glass is open: %s holds role %s on the whole cluster, approved by %s, until %s. Revoke it when the emergency ends (FT-CLD-16, PAS-12.2).",
				aa.Spec.Subject.Name, role(aa), aa.Spec.ApprovedBy, aa.Spec.Expires.UTC().Format(time.RFC3339)))
	case aa.Spec.BreakGlass:
		return j.Pass(compliance.AccessScope, "BreakGlassClosed",
			"Break-glass, not open: nothing is granted on the whole cluster now (FT-CLD-16).")
	default:
		return j.Pass(compliance.AccessScope, "TenantScoped",
			fmt.Sprintf("Role %s on the named tenants and namespaces only (%d bindings in place).", role(aa), len(bindings)))
	}
}
