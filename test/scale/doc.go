// Package scale holds the benchmarks of `make bench` and `make bench-peers`: each scenario runs
// against the real API server beside a baseline measured in the same run, and writes its result
// under bin/bench/.
package scale
