package compliance

import "github.com/rempart-io/rempart/internal/requirements"

// The controls of an AdminAccess grant. A grant is itself the approved derogation, so the kind
// has no exceptions of its own: its results go through the same judge with none in force.
var (
	AccessWindow = Control{
		ID: "access.window", Kind: KindAdminAccess, Requirements: []req{requirements.FTCLD14, requirements.FTCLD16, requirements.PAS122, requirements.ALM54},
		Checks:     "The grant's RoleBindings exist only inside its validity window, with the approved role.",
		PassReason: "WithinWindow", PassMessage: "The bindings exist exactly while the approved window is open (FT-CLD-14, PAS-12.2).",
		FailReason: "BindingsOutsideWindow", FailMessage: "Bindings of this grant exist outside its window: the operator is removing them (FT-CLD-14).",
	}
	AccessNominative = Control{
		ID: "access.nominative", Kind: KindAdminAccess, Requirements: []req{requirements.FTCLD18},
		Checks:     "The grant names a person, or a group with a justification.",
		PassReason: "NamedPerson", FailReason: "RecordNotTrusted",
		FailMessage: "The API server did not vouch for who asked for or approved the grant (FT-CLD-18).",
	}
	AccessReview = Control{
		ID: "access.review", Kind: KindAdminAccess, Requirements: []req{requirements.FTCLD17},
		Checks:     "A standing grant has been reviewed within the year.",
		PassReason: "Reviewed", FailReason: "ReviewOverdue",
		FailMessage: "The standing grant's yearly review is overdue: review it and update reviewedAt (FT-CLD-17).",
	}
	AccessScope = Control{
		ID: "access.scope", Kind: KindAdminAccess, Requirements: []req{requirements.FTCLD16, requirements.PAS122},
		Checks:     "The grant covers only the approved tenants and namespaces; a break-glass grant says so.",
		PassReason: "TenantScoped", FailReason: "BreakGlassOpen",
		FailMessage: "Break-glass is open: least privilege is suspended until it is revoked (FT-CLD-16, PAS-12.2).",
	}
)
