package compliance

import "github.com/rempart-io/rempart/internal/requirements"

// KindEvidenceLog names the tenant's evidence log, which reports its own control in the report.
const KindEvidenceLog = "EvidenceLog"

// EvidenceLogKept is the control of the evidence log itself: the history an auditor reads for a
// whole period is only worth what its writing and its store are.
var EvidenceLogKept = Control{
	ID: "evidence.log", Kind: KindEvidenceLog, Requirements: []req{requirements.FTCLD28, requirements.PAS11, requirements.ALM54},
	Checks:     "Every change of the tenant's report, a daily snapshot, and every administrator access and exception are written as signed, chained entries to a store that locks them for at least 12 months, and the chain read back verifies.",
	PassReason: "LogWrittenAndVerified", FailReason: "LogNotKept",
	FailMessage: "The evidence log cannot be trusted for this period: an entry could not be written, the chain read back does not verify, or the store does not lock entries for 12 months; fix the store (Object Lock, credentials) and see the operator's log (FT-CLD-28).",
}
