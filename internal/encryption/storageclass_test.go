package encryption

import (
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStorageClass(t *testing.T) {
	sc := func(provisioner string, params map[string]string, labels map[string]string) *storagev1.StorageClass {
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "c", Labels: labels}, Provisioner: provisioner, Parameters: params}
	}
	tests := []struct {
		name string
		sc   *storagev1.StorageClass
		want bool
	}{
		{"EBS encrypted", sc("ebs.csi.aws.com", map[string]string{"encrypted": "true", "type": "gp3"}, nil), true},
		{"EBS encrypted upper case", sc("ebs.csi.aws.com", map[string]string{"encrypted": "TRUE"}, nil), true},
		{"EBS plain", sc("ebs.csi.aws.com", map[string]string{"type": "gp3"}, nil), false},
		{"EBS explicitly off", sc("ebs.csi.aws.com", map[string]string{"encrypted": "false"}, nil), false},
		{"GCE PD with CMEK", sc("pd.csi.storage.gke.io", map[string]string{"disk-encryption-kms-key": "projects/p/locations/europe-west9/keyRings/r/cryptoKeys/k"}, nil), true},
		{"GCE PD with provider keys only", sc("pd.csi.storage.gke.io", map[string]string{"type": "pd-ssd"}, nil), false},
		{"Azure disk with CMK", sc("disk.csi.azure.com", map[string]string{"diskEncryptionSetID": "/subscriptions/s/des"}, nil), true},
		{"Ceph RBD encrypted", sc("rbd.csi.ceph.com", map[string]string{"encrypted": "true"}, nil), true},
		{"Longhorn plain", sc("driver.longhorn.io", nil, nil), false},
		{"Scaleway encrypted", sc("csi.scaleway.com", map[string]string{"encrypted": "true"}, nil), true},
		{"Outscale encrypted", sc("bsu.csi.outscale.com", map[string]string{"encrypted": "true"}, nil), true},
		{"Cinder without label", sc("cinder.csi.openstack.org", map[string]string{"type": "luks"}, nil), false},
		{"Cinder labelled", sc("cinder.csi.openstack.org", nil, map[string]string{"rempart.io/encrypted": "true"}), true},
		{"unknown provisioner", sc("example.com/nfs", map[string]string{"encrypted": "true"}, nil), false},
		{"unknown provisioner labelled", sc("example.com/nfs", nil, map[string]string{"rempart.io/encrypted": "true"}), true},
		{"label other than true", sc("example.com/nfs", nil, map[string]string{"rempart.io/encrypted": "yes"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := StorageClass(tt.sc)
			if v.Encrypted != tt.want {
				t.Fatalf("encrypted = %v, want %v (%s)", v.Encrypted, tt.want, v.Rule)
			}
			if v.Rule == "" {
				t.Error("verdict does not say which rule decided")
			}
		})
	}
}
