// Package policystatus is the one path by which every policy kind writes its status: it fills
// the shared part (controls, summary, Ready and Compliant), writes only when something other than
// the evaluation stamp changed, and says when to reconcile again (the earliest instant a result
// changes by itself: an exception, a deadline, a grant's window).
package policystatus
