package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

// Every command answers --help with its usage and flags, and succeeds, as kubectl's do.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"report", "--help"}, {"explain", "-h"}, {"grant", "--help"},
		{"grant", "request", "--help"}, {"grant", "approve", "--help"}, {"grant", "revoke", "-h"}, {"completion", "--help"},
		{"history", "--help"}, {"evidence", "--help"}, {"evidence", "export", "--help"}, {"evidence", "verify", "-h"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		if !strings.Contains(out.String(), "kubectl rempart "+args[0]) && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			t.Errorf("%v printed no usage of its command:\n%s", args, out.String())
		}
		if len(args) > 1 && args[0] != "grant" && args[0] != "completion" && args[0] != "evidence" && !strings.Contains(out.String(), "--kubeconfig") {
			t.Errorf("%v does not list its flags:\n%s", args, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"grant", "request", "--help"}, &out); err != nil || !strings.Contains(out.String(), "--subject") {
		t.Errorf("grant request --help: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"report", "--no-such-flag"}, &out); err == nil {
		t.Error("an unknown flag is accepted")
	} else if _, ok := err.(usageError); !ok {
		t.Errorf("an unknown flag is not a usage error: %v", err)
	}
}

func TestCompletion(t *testing.T) {
	cases := map[string]struct {
		args []string
		want []string
	}{
		"commands":       {[]string{"__complete", ""}, []string{"report", "explain", "grant", "history", "evidence", "completion"}},
		"evidence":       {[]string{"__complete", "evidence", ""}, []string{"export", "verify"}},
		"history output": {[]string{"__complete", "history", "-o", ""}, []string{"table", "json"}},
		"export flags":   {[]string{"__complete", "evidence", "export", "--fr"}, []string{"--from"}},
		"prefix":         {[]string{"__complete", "ex"}, []string{"explain"}},
		"control IDs":    {[]string{"__complete", "explain", "backup.r"}, []string{"backup.restore-test", "backup.rpo"}},
		"output formats": {[]string{"__complete", "report", "-o", ""}, []string{"table", "json", "yaml", "csv", "md", "html"}},
		"flags":          {[]string{"__complete", "grant", "request", "--su"}, []string{"--subject"}},
		"grant commands": {[]string{"__complete", "grant", ""}, []string{"request", "approve", "revoke"}},
	}
	for name, tc := range cases {
		var out bytes.Buffer
		if err := run(context.Background(), tc.args, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if lines[len(lines)-1] != ":4" {
			t.Errorf("%s: no directive line, got %q", name, out.String())
		}
		if got := strings.Join(lines[:len(lines)-1], ","); got != strings.Join(tc.want, ",") {
			t.Errorf("%s: candidates %q, want %q", name, got, strings.Join(tc.want, ","))
		}
	}
	for _, shell := range []string{"bash", "zsh", "kubectl"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"completion", shell}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "__complete") {
			t.Errorf("%s script does not call __complete:\n%s", shell, out.String())
		}
		interpreter := "bash"
		if shell == "kubectl" {
			interpreter = "sh"
		}
		if shell == "zsh" {
			continue // zsh may not be installed; its script is the bash one behind bashcompinit
		}
		if b, err := exec.Command(interpreter, "-n", "-c", out.String()).CombinedOutput(); err != nil {
			t.Errorf("%s script does not parse: %v\n%s", shell, err, b)
		}
	}
	if err := run(context.Background(), []string{"completion", "fish"}, &bytes.Buffer{}); err == nil {
		t.Error("an unknown shell is accepted")
	}
}
