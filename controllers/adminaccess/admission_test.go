package adminaccess

import (
	"strings"
	"testing"
)

// The break-glass group of the settings is the one the policies name, everywhere they trust or
// require it.
func TestPoliciesUseTheConfiguredBreakGlassGroup(t *testing.T) {
	cfg := Config{Limits: DefaultLimits, BreakGlassGroup: "acme:emergency"}
	var text []string
	p := approvalPolicy(cfg, "system:serviceaccount:rempart-system:rempart")
	for _, v := range p.Spec.Variables {
		text = append(text, v.Expression)
	}
	for _, v := range p.Spec.Validations {
		text = append(text, v.MessageExpression)
	}
	text = append(text, notPlatform(cfg, "op").Expression, creatorProtectPolicy(cfg, "op").Spec.MatchConditions[0].Expression)
	all := strings.Join(text, "\n")
	if strings.Count(all, `"acme:emergency"`) < 3 || strings.Contains(all, "rempart:break-glass") {
		t.Errorf("the policies do not name the configured group acme:emergency:\n%s", all)
	}
}
