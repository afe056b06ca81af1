package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rempart-io/rempart/internal/compliance"
	"github.com/rempart-io/rempart/internal/report"
)

// completeCommand answers completion requests the way cobra-based commands do (candidates one
// per line, then a directive line), which is what kubectl (1.26 and later) expects from a
// kubectl_complete-rempart executable when completing `kubectl rempart ...`.
const completeCommand = "__complete"

// directiveNoFiles is cobra's ShellCompDirectiveNoFileComp: never offer file names.
const directiveNoFiles = 4

// commonFlags are the kubectl flags worth offering everywhere.
var commonFlags = []string{"--kubeconfig", "--context", "--cluster", "--user", "--as", "--request-timeout"}

var commandFlags = map[string][]string{
	"report":          {"--tenant", "--output", "-o", "--stale-after"},
	"grant request":   {"--subject", "--tenant", "--reason", "--for", "--role", "--name"},
	"history":         append([]string{"--tenant", "--since", "--requirement", "--output", "-o"}, storeFlagNames...),
	"evidence export": append([]string{"--tenant", "--from", "--to", "--output", "-o"}, storeFlagNames...),
	"evidence verify": {"--key"},
}

// storeFlagNames are the flags that locate an evidence log.
var storeFlagNames = []string{"--operator-namespace", "--bucket", "--prefix", "--s3-url", "--region", "--credentials-file", "--dir", "--key"}

// complete prints the candidates for the last of args given the words before it.
func complete(args []string, out io.Writer) {
	var words []string
	toComplete := ""
	if len(args) > 0 {
		words, toComplete = args[:len(args)-1], args[len(args)-1]
	}
	for _, c := range candidates(words, toComplete) {
		if strings.HasPrefix(c, toComplete) {
			fmt.Fprintln(out, c)
		}
	}
	fmt.Fprintf(out, ":%d\n", directiveNoFiles)
}

func candidates(words []string, toComplete string) []string {
	if n := len(words); n > 0 {
		switch words[n-1] {
		case "-o", "--output":
			if words[0] == "history" {
				return []string{"table", "json"}
			}
			return report.Formats
		case "--role":
			return []string{"admin", "edit", "view"}
		}
	}
	if len(words) == 0 {
		return []string{"report", "explain", "grant", "history", "evidence", "completion"}
	}
	name := words[0]
	if (name == "grant" || name == "evidence") && len(words) > 1 {
		name += " " + words[1]
	}
	if strings.HasPrefix(toComplete, "-") {
		return append(append([]string{"--help"}, commandFlags[name]...), commonFlags...)
	}
	switch {
	case name == "explain" && len(words) == 1:
		return compliance.IDs()
	case name == "grant":
		return []string{"request", "approve", "revoke"}
	case name == "evidence":
		return []string{"export", "verify"}
	case name == "completion" && len(words) == 1:
		return []string{"bash", "zsh", "kubectl"}
	}
	return nil
}

// completionCmd prints a completion script: for bash or zsh when the plugin is run as
// kubectl-rempart, or the kubectl_complete-rempart helper kubectl runs for `kubectl rempart`.
func completionCmd(args []string, out io.Writer) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("completion takes one shell: bash, zsh or kubectl")}
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(out, bashCompletion)
	case "zsh":
		fmt.Fprint(out, "autoload -U +X bashcompinit && bashcompinit\n"+bashCompletion)
	case "kubectl":
		fmt.Fprint(out, kubectlCompletion)
	case "-h", "--help":
		fmt.Fprintf(out, "Usage:\n%s\n", synopsis("completion"))
	default:
		return usageError{fmt.Errorf("unknown shell %q: use bash, zsh or kubectl", args[0])}
	}
	return nil
}

const bashCompletion = `# bash completion for kubectl-rempart: source <(kubectl-rempart completion bash)
_kubectl_rempart() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local candidates
  candidates=$(kubectl-rempart __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null | grep -v '^:')
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -F _kubectl_rempart kubectl-rempart
`

const kubectlCompletion = `#!/bin/sh
# kubectl_complete-rempart: put this file on your PATH, executable, and kubectl (1.26 and later)
# completes "kubectl rempart ..." with it.
exec kubectl-rempart __complete "$@"
`
