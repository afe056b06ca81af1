// Package admission holds the small builders every controller's admission policies share.
package admission
