// Package benchtable reads the results the benchmarks write under bin/bench/ and renders them as
// one table, so that runs of `make bench` and `make bench-peers` can be read and compared at once.
package benchtable
