package regions

import (
	"fmt"
	"sort"
	"strings"
)

// CELCatalog renders the built-in catalog as two CEL map literals that the DataResidency CRD
// embeds, so the API server itself refuses a catalog extension that moves a built-in region to
// another country: byProvider maps "provider:code" to its country, byCode maps a code to its
// country, or to "--" when providers place the code in different countries. Codes are lower case.
// A test keeps the CRD's copy equal to these. The rule and its message each write both maps out
// in full: the CRD validation environment has no cel.bind (the API server's base CEL library
// omits ext.Bindings), and binding a map through a one-element list comprehension puts the rule
// over the schema's cost budget.
func CELCatalog() (byProvider, byCode string) {
	provider := map[string]string{}
	code := map[string]string{}
	for _, r := range builtin {
		k := codeKey(r.Code)
		provider[fmt.Sprintf("%s:%s", r.Provider, k)] = r.Country
		if prev, seen := code[k]; seen && prev != r.Country {
			code[k] = "--"
		} else if !seen {
			code[k] = r.Country
		}
	}
	return celMap(provider), celMap(code)
}

func celMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]string, len(keys))
	for i, k := range keys {
		entries[i] = fmt.Sprintf("'%s':'%s'", k, m[k])
	}
	return "{" + strings.Join(entries, ",") + "}"
}
