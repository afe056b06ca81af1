// Package requirements is the catalog of contractual security rules that Rempart's controls cite.
// Controls refer to these constants, never to string literals, so an auditor can walk from a
// clause of a contract to the objects that satisfy it and a typo cannot invent a requirement.
package requirements
