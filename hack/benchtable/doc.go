// Command benchtable prints the benchmark results written under bin/bench/ as one Markdown table.
package main
