package adminaccess

import (
	"fmt"
	"time"

	rempartv1 "github.com/rempart-io/rempart/api/v1alpha1"
	"github.com/rempart-io/rempart/controllers/controls"
	"github.com/rempart-io/rempart/internal/requirements"
)

// Control IDs of AdminAccess.
const (
	controlWindow     rempartv1.ControlID = "access.window"
	controlNominative rempartv1.ControlID = "access.nominative"
	controlReview     rempartv1.ControlID = "access.review"
	controlScope      rempartv1.ControlID = "access.scope"
)

func result(id rempartv1.ControlID, reqs []requirements.ID, state rempartv1.ControlState, reason, message string) rempartv1.ControlResult {
	return rempartv1.ControlResult{ID: id, Requirements: requirements.Strings(reqs...), State: state, Reason: reason, Message: message}
}

// approvedWords names the approver, or says there is none yet.
func approvedWords(aa *rempartv1.AdminAccess) string {
	if aa.Spec.ApprovedBy == "" {
		return ", not yet approved"
	}
	return ", approved by " + aa.Spec.ApprovedBy
}

// evaluate judges a grant: its window and bindings agree, its subject is a person, its review is
// current, and its scope says whether it is a break-glass access.
func evaluate(aa *rempartv1.AdminAccess, d decision, bindings []rempartv1.ObjectReference, now time.Time, cfg Config) []rempartv1.ControlResult {
	window := []requirements.ID{requirements.FTCLD14, requirements.FTCLD16, requirements.PAS122, requirements.ALM54}
	var out []rempartv1.ControlResult
	switch {
	case d.phase == rempartv1.AdminAccessRefused:
		out = append(out, result(controlWindow, window, rempartv1.ControlNonCompliant, "GrantRefused", d.message))
	case !d.grant && len(bindings) > 0:
		out = append(out, result(controlWindow, window, rempartv1.ControlNonCompliant, "BindingsOutsideWindow",
			fmt.Sprintf("%d bindings of this grant still exist outside its window: the operator is removing them (FT-CLD-14).", len(bindings))))
	default:
		out = append(out, result(controlWindow, window, rempartv1.ControlCompliant, "WithinWindow",
			"The bindings exist exactly while the approved window is open (FT-CLD-14, PAS-12.2)."))
	}

	nominative := []requirements.ID{requirements.FTCLD18}
	switch {
	case d.untrusted:
		// The API server did not vouch for who asked or who approved.
		out = append(out, result(controlNominative, nominative, rempartv1.ControlNonCompliant, "RecordNotTrusted", d.message))
	case aa.Spec.Subject.Kind == rempartv1.AdminSubjectGroup:
		out = append(out, result(controlNominative, nominative, rempartv1.ControlCompliant, "GroupJustified",
			fmt.Sprintf("The subject is group %s, accepted on this justification: %s; requested by %s%s (FT-CLD-18).", aa.Spec.Subject.Name, aa.Spec.GroupJustification, aa.Spec.RequestedBy, approvedWords(aa))))
	default:
		out = append(out, result(controlNominative, nominative, rempartv1.ControlCompliant, "NamedPerson",
			fmt.Sprintf("The subject is the named person %s; requested by %s%s (FT-CLD-18).", aa.Spec.Subject.Name, aa.Spec.RequestedBy, approvedWords(aa))))
	}

	if aa.Spec.Standing && aa.Spec.ReviewedAt != nil {
		review := []requirements.ID{requirements.FTCLD17}
		due := aa.Spec.ReviewedAt.Add(cfg.Limits.ReviewValidity)
		switch {
		case !now.Before(due):
			out = append(out, result(controlReview, review, rempartv1.ControlNonCompliant, "ReviewOverdue",
				fmt.Sprintf("The standing grant's yearly review was due on %s: review it and update reviewedAt (FT-CLD-17).", due.UTC().Format(time.DateOnly))))
		case due.Sub(now) <= reviewNotice:
			out = append(out, result(controlReview, review, rempartv1.ControlCompliant, "ReviewDueSoon",
				fmt.Sprintf("The standing grant's yearly review is due on %s, within 30 days: plan it (FT-CLD-17).", due.UTC().Format(time.DateOnly))))
		default:
			out = append(out, result(controlReview, review, rempartv1.ControlCompliant, "Reviewed",
				fmt.Sprintf("Reviewed on %s; next review due on %s (FT-CLD-17).", aa.Spec.ReviewedAt.UTC().Format(time.DateOnly), due.UTC().Format(time.DateOnly))))
		}
	}

	scope := []requirements.ID{requirements.FTCLD16, requirements.PAS122}
	switch {
	case aa.Spec.BreakGlass && d.grant:
		// Least privilege is suspended while the glass is broken: said, not hidden. A waiver
		// (exception) records an accepted emergency.
		out = append(out, result(controlScope, scope, rempartv1.ControlNonCompliant, "BreakGlassOpen",
			fmt.Sprintf("Break-glass is open: %s holds role %s on the whole cluster, approved by %s, until %s. Revoke it when the emergency ends (FT-CLD-16, PAS-12.2).",
				aa.Spec.Subject.Name, role(aa), aa.Spec.ApprovedBy, aa.Spec.Expires.UTC().Format(time.RFC3339))))
	case aa.Spec.BreakGlass:
		out = append(out, result(controlScope, scope, rempartv1.ControlCompliant, "BreakGlassClosed",
			"Break-glass, not open: nothing is granted on the whole cluster now (FT-CLD-16)."))
	default:
		out = append(out, result(controlScope, scope, rempartv1.ControlCompliant, "TenantScoped",
			fmt.Sprintf("Role %s on the named tenants and namespaces only (%d bindings in place).", role(aa), len(bindings))))
	}
	controls.SortResults(out)
	return out
}
