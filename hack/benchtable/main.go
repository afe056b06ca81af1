package main

import (
	"fmt"
	"os"

	"github.com/rempart-io/rempart/internal/benchtable"
)

func main() {
	dir := "bin/bench"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	t, err := benchtable.Read(dir)
	if err == nil {
		err = t.Markdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}
