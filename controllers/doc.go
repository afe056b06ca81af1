// Package controllers registers every Rempart controller with a manager, from one place, so a
// new policy kind adds one line to the list below.
package controllers
