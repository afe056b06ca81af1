// Package apply is the one code path by which the operator changes generated objects: it
// creates, applies, replaces, prunes and deletes them under Rempart's field manager, builds their
// managed labels and owner references, tells when the cache already holds what would be written
// (so unchanged objects are never sent again), remembers its recent writes, and logs every write
// and deletion at V(1) with the object and the reason.
package apply
