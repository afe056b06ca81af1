//go:build tools

// Package tools pins the commands this module builds:
//
//	go build github.com/vmware-tanzu/velero/cmd/velero \
//	  github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws \
//	  github.com/versity/versitygw/cmd/versitygw
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
	_ "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws"
	_ "github.com/vmware-tanzu/velero/cmd/velero"
)
