// Command etcd is the etcd server used by Rempart's local control plane, built from
// the pinned go.etcd.io/etcd/server module so no prebuilt binary is downloaded.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
