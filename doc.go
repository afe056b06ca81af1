// Command rempart is the Rempart operator: it turns hosting-security requirements declared as
// custom resources into enforced cluster state and writes the proof into their status.
package main
