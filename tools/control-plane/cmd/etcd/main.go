// Command etcd is the stock etcd server (go.etcd.io/etcd/server/v3/etcdmain),
// built at the etcd version that k8s.io/apiserver requires, for kubesub's
// end-to-end tests. See ../../README.md.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
